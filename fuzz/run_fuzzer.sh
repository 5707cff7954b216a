#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over a fresh copy of its seed corpus (ctest calls
# this; see fuzz/README.md).
#
#   run_fuzzer.sh BINARY SEED_DIR WORK_DIR [LIBFUZZER_FLAG...]
#
# TACOS_FUZZ_SECONDS (default 60) bounds the run. Any crash, leak, sanitizer report, slow input
# (-timeout) or memory blow-up (-rss_limit_mb) makes libFuzzer exit non-zero, and so this script.
# The input that failed is left in WORK_DIR/artifacts/.
set -euo pipefail
bin=$1 seeds=$2 work=$3
shift 3
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
rc=0
"$bin" "$work/corpus" -max_total_time="${TACOS_FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 \
  -max_len=16384 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" || rc=$?
if [[ $rc -ne 0 ]]; then
  for f in "$work"/artifacts/*; do
    [[ -e $f ]] && echo "fuzz: failing input kept: $f (reproduce: $bin $f)" >&2
  done
fi
exit "$rc"

#!/usr/bin/env bash
# Runs every bench/*_vs_*.sh in turn (or only those whose name contains one of the arguments),
# then prints the tables they wrote to bench/results/. One failing benchmark does not stop the
# others; the exit status is non-zero if any failed.
#
#   bench/run.sh                 all benchmarks
#   bench/run.sh catalogue       only bench/*catalogue*_vs_*.sh
set -uo pipefail

# Make a relative TACOS_BIN survive the cd below.
if [[ -n ${TACOS_BIN:-} && $TACOS_BIN != /* ]]; then
  TACOS_BIN=$PWD/$TACOS_BIN
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
results=${BENCH_RESULTS_DIR:-bench/results}

scripts=()
for script in bench/*_vs_*.sh; do
  [[ -e $script ]] || continue
  if [[ $# -gt 0 ]]; then
    match=false
    for want in "$@"; do
      [[ $(basename "$script") == *"$want"* ]] && match=true
    done
    [[ $match == true ]] || continue
  fi
  scripts+=("$script")
done
[[ ${#scripts[@]} -gt 0 ]] || {
  echo "bench: no benchmark matches: $*" >&2
  exit 2
}

# Tables newer than this marker were written by this run; older ones are not shown.
marker=$(mktemp)
trap 'rm -f "$marker"' EXIT
trap 'exit 130' INT

failed=()
for script in "${scripts[@]}"; do
  echo "=== $script"
  bash "$script"
  rc=$?
  [[ $rc -eq 0 ]] || failed+=("$script (exit $rc)")
  echo
done

echo "=== summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cpus; only same-run ratios are comparable)"
for f in "$results"/*.txt; do
  [[ -e $f && $f -nt $marker ]] && cat "$f"
done
if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'bench: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi

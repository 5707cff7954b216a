#!/usr/bin/env bash
# Regenerates the generated tables in docs/ from the code's declarations (app_test checks them):
# the configuration keys (docs/configuration.md) and the metric families (docs/metrics.md).
#   scripts/gen-config-doc.sh [path/to/tacos]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=${1:-build/debug/src/app/tacos}

# replace_between DOC MARKER TABLE: puts TABLE between <!-- MARKER:begin --> and <!-- MARKER:end -->.
replace_between() {
  local doc=$1 marker=$2 table=$3
  awk -v table="$table" -v begin="<!-- $marker:begin -->" -v end="<!-- $marker:end -->" '
    $0 == begin { print; print table; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }' "$doc" >"$doc.tmp"
  mv "$doc.tmp" "$doc"
}

replace_between docs/configuration.md config-reference "$("$bin" config-reference)"
replace_between docs/metrics.md metrics-reference "$("$bin" metrics-reference)"

#!/usr/bin/env bash
# Regenerates the table in docs/configuration.md from the declarations (config_test checks it).
#   scripts/gen-config-doc.sh [path/to/tacos]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=${1:-build/debug/src/app/tacos}
doc=docs/configuration.md
table=$("$bin" config-reference)
awk -v table="$table" '
  /<!-- config-reference:begin -->/ { print; print table; skip = 1; next }
  /<!-- config-reference:end -->/ { skip = 0 }
  !skip { print }' "$doc" >"$doc.tmp"
mv "$doc.tmp" "$doc"

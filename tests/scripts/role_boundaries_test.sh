#!/usr/bin/env bash
# The role boundary check catches each kind of leak in a made-up tree, then passes on the real one.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
check=$here/scripts/check-role-boundaries.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/src/roles/alpha" "$tmp/src/roles/beta" "$tmp/src/store"
echo '#include "roles/beta/client.hpp"' >"$tmp/src/roles/alpha/ok.cpp"
cat >"$tmp/src/roles/CMakeLists.txt" <<'CMAKE'
tacos_module(alpha
  SOURCES alpha/ok.cpp
  DEPS tacos_beta_api tacos_common)
tacos_module(beta
  SOURCES beta/x.cpp
  DEPS tacos_common)
CMAKE
"$check" "$tmp" >/dev/null || { echo "FAIL: a clean tree was refused"; exit 1; }

echo '#include "roles/beta/service.hpp"' >"$tmp/src/roles/alpha/leak.cpp"
echo '#include "roles/alpha/client.hpp"' >"$tmp/src/store/leak.cpp"
sed -i 's/DEPS tacos_common)/DEPS tacos_alpha tacos_common)/' "$tmp/src/roles/CMakeLists.txt"
if out=$("$check" "$tmp" 2>&1); then
  echo "FAIL: leaks were not found"
  exit 1
fi
for expected in "alpha/leak.cpp:1 includes roles/beta/service.hpp" "store/leak.cpp:1" "tacos_beta links tacos_alpha" \
  "3 role boundary problem(s)"; do
  grep -qF "$expected" <<<"$out" || { echo "FAIL: expected '$expected' in:"; echo "$out"; exit 1; }
done
echo "the check finds each kind of leak"

"$check" "$here"

#!/usr/bin/env bash
# Fails when the boundary between roles leaks (docs/architecture.md, "Modules"):
#   - a file of one role includes another role's header other than its client.hpp;
#   - a library below the roles (common, domain, store, net, auth, config, runtime, metrics)
#     includes any role header;
#   - a role's CMake target links another role's implementation library instead of its _api.
# Usage: scripts/check-role-boundaries.sh [source root]   (run by ctest as role_boundaries)
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root/src"
roles=$(find roles -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
problems=0
complain() {
  echo "role boundary: $*" >&2
  problems=$((problems + 1))
}

for role in $roles; do
  while IFS=: read -r file line text; do
    header=$(sed -E 's/.*#include "roles\/([a-z_]+)\/([^"]+)".*/\1 \2/' <<<"$text")
    other=${header% *}
    name=${header#* }
    [[ $other == "$role" ]] && continue
    [[ $name == client.hpp ]] && continue
    complain "$file:$line includes roles/$other/$name: another role is reached through its client.hpp only"
  done < <(grep -rnE '#include "roles/[a-z_]+/' "roles/$role" || true)
done

for lib in common domain store net auth config runtime metrics; do
  [[ -d $lib ]] || continue
  while IFS= read -r hit; do
    complain "$hit: $lib sits below the roles and must not include them"
  done < <(grep -rnE '#include "roles/' "$lib" || true)
done

# tacos_module(<role> ... DEPS ...): the DEPS of a role's own library name no other role's
# implementation library.
for role in $roles; do
  deps=$(awk -v target="tacos_module($role" '
    index($0, target) == 1 && (substr($0, length(target) + 1, 1) == "" || substr($0, length(target) + 1, 1) ~ /[ \n]/) { inside = 1 }
    inside { print }
    inside && /\)/ { inside = 0 }' roles/CMakeLists.txt)
  for other in $roles; do
    [[ $other == "$role" ]] && continue
    if grep -qE "(^|[[:space:]])tacos_${other}([[:space:]]|\)|$)" <<<"$deps"; then
      complain "roles/CMakeLists.txt: tacos_$role links tacos_$other; link tacos_${other}_api instead"
    fi
  done
done

if ((problems > 0)); then
  echo "$problems role boundary problem(s)" >&2
  exit 1
fi
echo "role boundaries hold: $(wc -w <<<"$roles") roles checked"

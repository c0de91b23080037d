#!/usr/bin/env bash
# Builds the tree under sanitizers and runs the tests they are for:
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer (./build-asan): the unit and
#         integration tests, including the `datafold` executable they start.
#   tsan  ThreadSanitizer (./build-tsan): the tests where threads race — every
#         in-process integration suite (each node runs I/O threads and a handler
#         pool beside the test's own thread) and the unit suites that start threads.
# Usage: scripts/sanitize.sh [asan|tsan]...   (no argument: both, asan first)
# Any sanitizer report fails the run: the build stops at the first error
# (-fno-sanitize-recover=all) and the options below make every report fatal.
# Needs root for apt-get (uses sudo when not root). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# The project's own packages come from setup.sh, which also builds ./build; CI has
# run it already (scripts/test.sh), so this only happens on a clone that has not.
if [ ! -f build/build.ninja ]; then bash scripts/setup.sh; fi

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

# configure <dir> <sanitizers> [cmake args...]: GCC 12 (the compiler of the regular
# build), -O1: fast enough to run, asserts left on. -g1 (line tables) is what a report's
# stack needs, file:line per frame, at a fraction of -g's compile time.
# Unity batches (CMAKE_UNITY_BUILD, 8 files per batch): each batch parses the heavy
# headers (Asio, OpenSSL, protobuf, GoogleTest) once and compiles each template
# instantiation once, which roughly halves these trees' build on 2 cores. It needs the
# files of one target to be compilable together: a helper in an anonymous namespace must
# not share its name with another file's of the same target. A clash is a compile error
# here ("redefinition of …"); rename the newer helper.
configure() {
  local dir=$1 sanitizers=$2
  shift 2
  cmake -S . -B "$dir" -G Ninja "${launcher[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DCMAKE_UNITY_BUILD=ON \
    -DDATAFOLD_SANITIZE="$sanitizers" \
    -DDATAFOLD_BUILD_EXAMPLES=OFF -DDATAFOLD_BUILD_BENCH=OFF "$@" >/dev/null
}

# Each step's failure is returned by hand: `set -e` does not apply inside a
# function called as `run_x || ...`.
run_asan() {
  echo "==> AddressSanitizer + UndefinedBehaviorSanitizer: building build-asan"
  # The netsim tests are not run here (they need root and namespaces, and run in the
  # regular build), so they are not built either.
  # The fuzz replays (label fuzz) are left out: scripts/fuzz.sh runs the same inputs
  # under ASan and UBSan already, and this tree builds everything it configures.
  configure build-asan address,undefined -DDATAFOLD_BUILD_NETSIM=OFF -DDATAFOLD_BUILD_FUZZ_REPLAY=OFF || return 1
  cmake --build build-asan -j2 || return 1
  echo "==> AddressSanitizer + UndefinedBehaviorSanitizer: unit and integration tests"
  ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    ctest --test-dir build-asan -L '^(unit|integration)$' -j2 --output-on-failure --no-tests=error
}

# Without the executable, the `integration` label is exactly the in-process suites
# (the CLI and quick-start tests start `datafold` processes and are left out). The
# `threaded` label is the unit tests that start threads of their own, a binary of its
# own in a TSan build. -Wno-tsan: GCC warns at every atomic_thread_fence in the
# standard headers (TSan does not model fences), hundreds of lines that hide the rest.
run_tsan() {
  echo "==> ThreadSanitizer: building build-tsan"
  configure build-tsan thread -DDATAFOLD_BUILD_APPS=OFF "-DCMAKE_CXX_FLAGS=-Wno-tsan" || return 1
  cmake --build build-tsan -j2 --target threaded_unit_tests integration_tests || return 1
  echo "==> ThreadSanitizer: integration tests and threaded unit tests"
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
    ctest --test-dir build-tsan -L '^(integration|threaded)$' -j2 --output-on-failure --no-tests=error
}

modes=("$@")
if [ ${#modes[@]} -eq 0 ]; then modes=(asan tsan); fi
status=0
for mode in "${modes[@]}"; do
  case "$mode" in
    asan) run_asan || status=1 ;;
    tsan) run_tsan || status=1 ;;
    *) echo "usage: $0 [asan|tsan]..." >&2; exit 2 ;;
  esac
done
exit $status

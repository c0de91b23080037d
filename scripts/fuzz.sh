#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang 14 into ./build-fuzz and runs each
# for DATAFOLD_FUZZ_SECONDS (default 10) through CTest, from its seed corpus and the
# crash inputs found so far (fuzz/crashes/). The ordinary build replays the same inputs
# without libFuzzer, as the tests labelled fuzz.
# Exits non-zero if any fuzzer finds a crash, a leak, undefined behaviour or a broken
# invariant; the input that did it is kept in build-fuzz/fuzz/artifacts/ and can be
# replayed with `build-fuzz/fuzz/<name> <input>`.
# Needs root for apt-get (uses sudo when not root). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${DATAFOLD_FUZZ_SECONDS:-10}"
build_dir=build-fuzz

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The project's own packages come from setup.sh, which also builds ./build; CI has
# run it already (scripts/test.sh), so this only happens on a clone that has not.
if [ ! -f build/build.ninja ]; then bash scripts/setup.sh; fi

# libFuzzer and the sanitizer runtimes are in libclang-rt-14-dev; llvm-14 has the
# symbolizer that turns a finding's stack into file:line.
packages=(clang-14 libclang-rt-14-dev llvm-14)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

# Unity batches, as in scripts/sanitize.sh: the library builds in about half the time.
# -O1 -g1, also as there: a finding's stack still has file:line, and the library
# compiles in far less time than at -O2 -g. NDEBUG stays, as in every build users run:
# toml++ (a Debian header library the config parser compiles in) asserts on input it
# then refuses cleanly, and the fuzzers would find its asserts, not our bugs.
echo "==> configuring and building the fuzzers in $build_dir (clang 14, ASan + UBSan, coverage)"
cmake -S . -B "$build_dir" -G Ninja "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DCMAKE_UNITY_BUILD=ON \
  -DCMAKE_CXX_COMPILER=clang++-14 \
  -DDATAFOLD_BUILD_FUZZ=ON \
  -DDATAFOLD_SANITIZE=address,undefined \
  -DDATAFOLD_FUZZ_FLAGS=-fsanitize=fuzzer-no-link \
  -DDATAFOLD_FUZZ_SECONDS="$seconds" \
  -DDATAFOLD_BUILD_TESTS=OFF -DDATAFOLD_BUILD_APPS=OFF \
  -DDATAFOLD_BUILD_EXAMPLES=OFF -DDATAFOLD_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" --target datafold_fuzzers -j2

echo "==> fuzzing each target for ${seconds} s"
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-/usr/bin/llvm-symbolizer-14}"
# The fuzz directory holds the tests: with the test suite off, the top level has none.
ctest --test-dir "$build_dir/fuzz" -L fuzz -j2 --output-on-failure --no-tests=error

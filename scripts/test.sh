#!/usr/bin/env bash
# Sets everything up (packages, build) and runs the tests:
#   1. the whole suite with CTest (./build): unit, integration, netsim, CLI, quick start;
#   2. the unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#      and the concurrency tests under ThreadSanitizer (scripts/sanitize.sh);
#   3. each libFuzzer target for a short fixed time (scripts/fuzz.sh);
#   4. the Debian package: built with cpack, installed, checked and removed
#      (scripts/package_check.sh; needs root, skipped otherwise).
# scripts/setup.sh builds ./build first, in unity batches. Steps 2 and 3 build three
# more trees; step 4 takes about a minute. The whole CI run (.ci/run: quick start,
# build, all four steps) takes under an hour on 2 cores from a clean machine; the
# closing note of the change that last timed it gives the figures.
# --suite runs step 1 alone.
# Every step runs even if an earlier one failed; the exit status says whether all passed.
set -uo pipefail
cd "$(dirname "$0")/.."

full=1
case "${1:-}" in
  "") ;;
  --suite) full=0 ;;
  *) echo "usage: $0 [--suite]" >&2; exit 2 ;;
esac

bash scripts/setup.sh || exit 1

declare -a outcome
# Each step's output also goes to a log, so the summary at the end can say which
# tests failed and the first lines of any sanitizer report: CI shows only the tail.
logs=build/test-logs
mkdir -p "$logs"

# step <name> <log> <command...>: runs the command and records its outcome and wall time.
# Exit status 77 means the command could not run here (it says why) and is recorded
# as skipped.
step() {
  local name=$1 log=$logs/$2.log started=$SECONDS
  shift 2
  local verdict=passed
  "$@" 2>&1 | tee "$log"
  case ${PIPESTATUS[0]} in
    0) ;;
    77) verdict=skipped ;;
    *) verdict=FAILED ;;
  esac
  outcome+=("$(printf '%-7s  %4d s  %s' "$verdict" $((SECONDS - started)) "$name")")
  if [ $verdict = FAILED ]; then failed_logs+=("$log"); fi
}

# why <log>: the failed tests CTest listed, then the first dozen lines that open a
# sanitizer or fuzzer report or a compiler error.
why() {
  echo "  from $1:"
  {
    sed -n '/^The following tests FAILED:/,/^Errors while running CTest/p' "$1"
    grep -E -m 12 '(ERROR|WARNING): (Address|Thread|Leak|UndefinedBehavior)Sanitizer|runtime error:|^SUMMARY: |deadly signal|FAILED: |: (fatal )?error: ' "$1"
  } | head -40 | sed 's/^/    /'
}

declare -a failed_logs=()
echo "==> running the tests"
step "test suite (ctest --test-dir build)" suite \
  ctest --test-dir build --output-on-failure -j2 --timeout 300
if [ $full -eq 1 ]; then
  step "sanitizers (scripts/sanitize.sh)" sanitizers bash scripts/sanitize.sh
  step "fuzzing (scripts/fuzz.sh)" fuzzing bash scripts/fuzz.sh
  step "Debian package (scripts/package_check.sh)" package bash scripts/package_check.sh
fi

echo "==> summary"
printf '  %s\n' "${outcome[@]}"
for log in "${failed_logs[@]}"; do why "$log"; done
[ ${#failed_logs[@]} -eq 0 ]

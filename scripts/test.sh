#!/usr/bin/env bash
# Sets everything up (packages, build) and runs the tests:
#   1. the whole suite with CTest (./build): unit, integration, netsim, CLI, quick start;
#   2. the unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#      and the concurrency tests under ThreadSanitizer (scripts/sanitize.sh);
#   3. each libFuzzer target for a short fixed time (scripts/fuzz.sh).
# Steps 2 and 3 build three more trees: about 30 minutes on 2 cores from a clean
# machine (the whole run about 45). --suite runs step 1 alone.
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
# step <name> <command...>: runs the command and records its outcome and wall time.
step() {
  local name=$1 started=$SECONDS
  shift
  local verdict=passed
  "$@" || verdict=FAILED
  outcome+=("$(printf '%-6s  %4d s  %s' "$verdict" $((SECONDS - started)) "$name")")
}

echo "==> running the tests"
step "test suite (ctest --test-dir build)" ctest --test-dir build --output-on-failure -j2 --timeout 300
if [ $full -eq 1 ]; then
  step "sanitizers (scripts/sanitize.sh)" bash scripts/sanitize.sh
  step "fuzzing (scripts/fuzz.sh)" bash scripts/fuzz.sh
fi

echo "==> summary"
printf '  %s\n' "${outcome[@]}"
for line in "${outcome[@]}"; do [[ $line == FAILED* ]] && exit 1; done
exit 0

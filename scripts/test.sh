#!/usr/bin/env bash
# Sets everything up (packages, build) and runs the tests:
#   1. the whole suite with CTest (./build): unit, integration, netsim, CLI, quick start;
# and with --full also
#   2. the unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#      and the concurrency tests under ThreadSanitizer (scripts/sanitize.sh);
#   3. each libFuzzer target for a short fixed time (scripts/fuzz.sh).
# --full builds three more trees: most of an hour on 2 cores.
# Every step runs even if an earlier one failed; the exit status says whether all passed.
set -uo pipefail
cd "$(dirname "$0")/.."

full=0
case "${1:-}" in
  "") ;;
  --full) full=1 ;;
  *) echo "usage: $0 [--full]" >&2; exit 2 ;;
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

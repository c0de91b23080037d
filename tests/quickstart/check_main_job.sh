#!/usr/bin/env bash
# Runs the quick start's main job and checks what a user would look for in its
# output: every node discovered, alice's schema listed, and the same query
# answered differently to the trusted bob and the unknown carol.
#   check_main_job.sh LOCAL_NETWORK_SCRIPT DATAFOLD_BINARY
set -uo pipefail
out=$(bash "$1" --datafold "$2" 2>&1)
status=$?
printf '%s\n' "$out"
fail() { echo "CHECK FAILED: $*" >&2; exit 1; }
[ $status -eq 0 ] || fail "the main job exited with $status"

# The query section: bob's answer, then carol's.
bob=$(printf '%s\n' "$out" | sed -n '/bob asks/,/carol asks/p')
carol=$(printf '%s\n' "$out" | sed -n '/carol asks/,$p')
printf '%s\n' "$bob" | grep -q "alice@example" || fail "trusted bob did not read email"
printf '%s\n' "$bob" | grep -q "phone: InvalidPermission" || fail "bob read phone, which needs distance 0"
printf '%s\n' "$carol" | grep -q "@" && fail "unknown carol read an email address"
printf '%s\n' "$carol" | grep -q "email: InvalidPermission" || fail "carol's email was not refused"
printf '%s\n' "$carol" | grep -qE "^ +alice " || fail "carol could not read the public usernames"
printf '%s\n' "$out" | sed -n '/Discovery/,/Schema listing/p' | grep -c "127.0.0.1:" | grep -q "^[2-9]" \
  || fail "carol's discovery did not find the other two nodes"
printf '%s\n' "$out" | sed -n '/Schema listing/,/same query/p' | grep -q "UserProfile" || fail "no schema listing"
echo "main job output checks passed"

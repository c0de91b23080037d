#!/usr/bin/env bash
# Sets everything up (packages, build) and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> running the tests"
ctest --test-dir build --output-on-failure -j2 --timeout 300

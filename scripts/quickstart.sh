#!/usr/bin/env bash
# Sets everything up (packages, build) and runs the main job: a small local
# network of DataFold nodes on loopback that list each other's schemas and
# query each other.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> starting a local network"
./build/examples/datafold_local_network "$@"

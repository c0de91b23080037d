#!/usr/bin/env bash
# Sets everything up (packages, build) and runs the main job: a small local
# network of DataFold nodes on loopback that discover each other, list schemas,
# and answer the same query differently to a trusted and an unknown node.
#   scripts/quickstart.sh [--duration SECONDS]   (keep the network up afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> starting a local network"
bash scripts/local_network.sh "$@"

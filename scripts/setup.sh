#!/usr/bin/env bash
# Installs the Debian 12 packages DataFold Net builds with, then configures and
# builds it (Release with debug info, Ninja) into ./build.
# Needs root for apt-get (uses sudo when not root). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake ninja-build pkg-config git
  libasio-dev libssl-dev libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libspdlog-dev libcli11-dev libtomlplusplus-dev
  libsqlite3-dev libcpp-httplib-dev libopendht-dev
  libminiupnpc-dev libnatpmp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # The gRPC peer of `datafold bench --peer grpc` (bench/grpc).
  libgrpc++-dev protobuf-compiler-grpc
  iproute2 nftables
  # The Debian package (scripts/package_check.sh): cpack's shared-library
  # dependencies (dpkg-shlibdeps, file) and the service user (adduser).
  dpkg-dev file adduser
  # scripts/instructions_per_query.sh: callgrind, and the headers the bench marks its window with.
  valgrind
  # The NAT tests' gateway and STUN server: the packages install the programs
  # only (no service is started); the tests run them inside their namespaces.
  miniupnpd-nftables stun-server
  # The dashboard's browser tests drive Debian's Chromium (tests/dashboard); they never
  # download a browser of their own.
  chromium
)
# The datafold executable embeds its web dashboard, built with Node.js and npm (`npm ci`
# of the front-end libraries at the versions the lockfile pins). A machine that already
# has node and npm (say, from another repository's nodejs package, which ships npm
# itself) keeps them: Debian's npm would conflict with such a nodejs.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Unity batches (CMAKE_UNITY_BUILD, CMake's default of 8 files per batch, as in
# scripts/sanitize.sh): each batch parses the heavy headers (Asio, OpenSSL, protobuf,
# GoogleTest) once, which cuts this build from about 23 to about 15 minutes on 2 cores
# (it measured 28.8 CPU minutes).
# The files of one target must compile together: two files of a target must not
# define file-local helpers or constants of the same name (a clash is a compile error,
# "redefinition of …"): share a helper through tests/support, or name the constant
# for its file. An edit to one file rebuilds its whole batch; for many small rebuilds
# configure a tree of your own without it (README, "Quick start").
echo "==> configuring and building (about 15 minutes on 2 cores the first time)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD=ON >/dev/null
cmake --build build

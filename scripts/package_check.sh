#!/usr/bin/env bash
# Builds the Debian package from ./build (cpack), installs it with dpkg, checks what
# was installed, and removes it again:
#   - the package's files: binary (stripped), library, headers, CMake package, unit,
#     conffile; its control fields and maintainer scripts;
#   - the installed `datafold --version` and `datafold id` on a temporary data dir;
#   - tests/cmake_consumer built against the installed CMake package;
#   - `datafold node` as the service starts it (the unit's ExecStart: user datafold,
#     /var/lib/datafold, /etc/datafold/datafold.toml), kept to loopback by flags;
#   - the unit file, with `systemd-analyze verify` where it runs;
#   - `dpkg -r` leaves only the conffile, `dpkg --purge` nothing.
# Needs root (dpkg -i); without it, or when a datafold package or its directories
# are already on this machine (someone's node: not ours to remove), it says why and
# exits 77, which scripts/test.sh records as skipped. The package is removed on
# every exit, failed checks included. About a minute on 2 cores: cpack 20-40 s,
# the consumer build 10 s.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

build=${BUILD_DIR:-build}
out=$build/package
unit=/usr/lib/systemd/system/datafold.service
conffile=/etc/datafold/datafold.toml
state=/var/lib/datafold

skip() { echo "package check SKIPPED: $*"; exit 77; }
fail() { echo "package check FAILED: $*" >&2; exit 1; }
step() { echo "==> $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root to install the package (dpkg -i); run it as root"
[ -f "$build/CPackConfig.cmake" ] || fail "no $build/CPackConfig.cmake: configure and build $build first (scripts/setup.sh)"
for tool in cpack cmake ninja dpkg dpkg-deb dpkg-shlibdeps file adduser runuser; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup.sh installs it)"
done
if dpkg-query -W -f='${Status}\n' datafold 2>/dev/null | grep -qv '^unknown ok not-installed$'; then
  skip "a datafold package is already on this machine ($(dpkg-query -W -f='${Version} ${Status}' datafold)); not touching it"
fi
for path in "$state" /etc/datafold "$unit"; do
  [ ! -e "$path" ] || skip "$path already exists (not from this check); not touching it"
done

user_existed=0
getent passwd datafold >/dev/null && user_existed=1
work=$(mktemp -d)
installed=0
cleanup() {
  local rc=$?
  if [ $installed -eq 1 ]; then
    echo "==> cleanup: dpkg --purge datafold"
    dpkg --purge datafold >/dev/null || rc=1
  fi
  # The package keeps its system user on purge (Debian's practice); this check made
  # it, so it goes.
  if [ $user_existed -eq 0 ] && getent passwd datafold >/dev/null; then
    deluser --system --quiet datafold >/dev/null 2>&1 || userdel datafold || rc=1
    getent group datafold >/dev/null && { delgroup --system --quiet datafold >/dev/null 2>&1 || groupdel datafold; }
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

step "cpack -G DEB ($build -> $out)"
rm -rf "$out"
started=$SECONDS
cpack --config "$build/CPackConfig.cmake" -B "$out" >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack"; }
echo "  made in $((SECONDS - started)) s"
debs=("$out"/datafold_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one datafold_*.deb in $out, found: ${debs[*]}"
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
echo "  $deb ($(du -h "$deb" | cut -f1)), version $version"

step "the package's control fields and files"
dpkg-deb -I "$deb" | sed 's/^/  /'
depends=$(dpkg-deb -f "$deb" Depends)
grep -q 'libc6' <<<"$depends" || fail "Depends has no shared-library dependencies (dpkg-shlibdeps): $depends"
grep -q 'adduser' <<<"$depends" || fail "Depends lacks adduser (postinst): $depends"
[ "$(dpkg-deb -f "$deb" Package)" = datafold ] || fail "package name"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx "$conffile" || fail "$conffile is not a conffile"
dpkg-deb -c "$deb" >"$work/contents"
for path in ./usr/bin/datafold ./usr/lib/libdatafold_net.a ./usr/include/datafold/net/network_core.hpp \
            ./usr/lib/cmake/datafold_net/datafold_netConfig.cmake ./usr/lib/cmake/datafold_net/datafold_netTargets.cmake \
            ./usr/lib/systemd/system/datafold.service ./etc/datafold/datafold.toml; do
  grep -q " $path\$" "$work/contents" || fail "the package lacks $path"
done
echo "  $(wc -l <"$work/contents") entries, the expected ones among them"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/datafold >"$work/datafold"
file "$work/datafold" | grep -q ', stripped' || fail "usr/bin/datafold is not stripped: $(file "$work/datafold")"

step "dpkg -i"
installed=1
dpkg -i "$deb" || fail "dpkg -i"
getent passwd datafold | grep -q ':/var/lib/datafold:/usr/sbin/nologin$' ||
  fail "user datafold: $(getent passwd datafold)"
[ "$(stat -c '%U:%G %a' "$state")" = "datafold:datafold 700" ] || fail "$state: $(stat -c '%U:%G %a' "$state")"

step "datafold --version, datafold id"
got=$(/usr/bin/datafold --version) || fail "datafold --version"
[ "$got" = "datafold $version" ] || fail "datafold --version said '$got', the package is $version"
echo "  $got"
id=$(/usr/bin/datafold --data-dir "$work/data" id) || fail "datafold id"
[[ "$id" =~ ^[a-z2-7]{52}$ ]] || fail "datafold id printed '$id'"
[ "$(stat -c %a "$work/data/identity.pem")" = 600 ] || fail "identity.pem mode $(stat -c %a "$work/data/identity.pem")"
echo "  node id $id (identity.pem mode 0600)"

step "the unit's ExecStart as user datafold, on loopback"
grep -qx 'ExecStart=/usr/bin/datafold --data-dir /var/lib/datafold node --config /etc/datafold/datafold.toml' "$unit" ||
  fail "the unit's ExecStart changed; update this check with it"
# The installed config as it is, with flags that keep this node to loopback (flags
# win over the file): no LAN discovery, no router, kernel-chosen ports.
runuser -u datafold -- /usr/bin/datafold --data-dir "$state" node --config "$conffile" \
  --listen 127.0.0.1:0 --http 127.0.0.1:0 --no-discovery --no-port-mapping --duration 1 \
  >"$work/node.out" 2>"$work/node.err" || { cat "$work/node.err"; fail "datafold node with $conffile"; }
grep -q '^node [a-z2-7]\{52\} listening on 127\.0\.0\.1:' "$work/node.out" || { cat "$work/node.out" "$work/node.err"; fail "no listening line"; }
echo "  $(head -1 "$work/node.out")"
for file in identity.pem node.lock; do
  [ "$(stat -c '%U %a' "$state/$file")" = "datafold 600" ] || fail "$state/$file: $(stat -c '%U %a' "$state/$file")"
done

step "the installed CMake package: tests/cmake_consumer against /usr"
# Only the system: never the build tree or a user's package registry.
cmake -S tests/cmake_consumer -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/consumer.log" 2>&1 &&
  grep -qx 'datafold_net_DIR:PATH=/usr/lib/cmake/datafold_net' "$work/consumer/CMakeCache.txt" &&
  cmake --build "$work/consumer" >>"$work/consumer.log" 2>&1 &&
  "$work/consumer/datafold_consumer" >>"$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; fail "cmake_consumer on the package"; }
echo "  found /usr/lib/cmake/datafold_net, built and ran"

step "systemd-analyze verify"
if command -v systemd-analyze >/dev/null; then
  # Offline: no running systemd needed. Any line it prints about this unit is a fault.
  systemd-analyze verify --man=no "$unit" >"$work/verify" 2>&1
  verify_rc=$?
  sed 's/^/  /' "$work/verify"
  [ $verify_rc -eq 0 ] && ! grep -q 'datafold' "$work/verify" || fail "systemd-analyze verify $unit"
  echo "  no findings"
  systemd-analyze security --offline=true --no-pager "$unit" 2>/dev/null | tail -1 | sed 's/^/  security: /'
else
  echo "  no systemd-analyze here: skipped"
fi

step "dpkg -r: the conffile stays, nothing else"
dpkg -r datafold >/dev/null || fail "dpkg -r"
[ "$(dpkg-query -W -f='${Status}' datafold)" = "deinstall ok config-files" ] || fail "status after dpkg -r: $(dpkg-query -W -f='${Status}' datafold)"
[ -f "$conffile" ] || fail "dpkg -r removed $conffile"
while read -r _ _ _ _ _ path _; do
  path=${path#.}
  [ "$path" = "$conffile" ] || [ -d "$path" ] || [ ! -e "$path" ] || fail "dpkg -r left $path"
done <"$work/contents"
step "dpkg --purge: nothing stays"
dpkg --purge datafold >/dev/null || fail "dpkg --purge"
installed=0
for path in /etc/datafold "$state" /etc/systemd/system/datafold.service /usr/lib/cmake/datafold_net /usr/include/datafold; do
  [ ! -e "$path" ] && [ ! -L "$path" ] || fail "dpkg --purge left $path"
done
left=$(find /etc/systemd /var/lib/systemd -name '*datafold*' 2>/dev/null)
[ -z "$left" ] || fail "dpkg --purge left systemd state: $left"
echo "package check passed"

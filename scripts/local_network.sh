#!/usr/bin/env bash
# The quick start's main job: a small DataFold network on this machine. Three
# nodes (alice, bob, carol), each a real `datafold node` process with its own
# identity and SQLite store, find each other by LAN discovery on the loopback
# interface; then bob and carol list alice's schemas and run the same query.
# Alice trusts bob (distance 1) and has never heard of carol, so they get
# different answers: that is trust at work.
#
#   scripts/local_network.sh [--datafold PATH] [--duration SECONDS]
#
# --duration keeps the network up that many seconds after the tour (default 0),
# so you can try the CLI against it. Everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

datafold=./build/apps/datafold/datafold
duration=0
while [ $# -gt 0 ]; do
  case "$1" in
    --datafold) datafold=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "usage: $0 [--datafold PATH] [--duration SECONDS]" >&2; exit 2 ;;
  esac
done
[ -x "$datafold" ] || { echo "no datafold binary at $datafold (run scripts/setup.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/datafold-quickstart-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# One LAN of our own: a random discovery port and network name, on loopback only.
port=$((20000 + RANDOM % 10000))
network="quickstart-$$"
lan=(--discovery-interface lo --discovery-port "$port" --network "$network")

df() { local who=$1; shift; "$datafold" --data-dir "$work/$who" --log-level warn "$@"; }
field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"; }
section() { printf '\n== %s\n' "$*"; }

section "Three identities"
declare -A id key
for who in alice bob carol; do
  json=$(df "$who" --json id)
  id[$who]=$(printf '%s' "$json" | field node_id)
  key[$who]=$(printf '%s' "$json" | field public_key)
  printf '  %-6s node %s\n' "$who" "${id[$who]}"
done

section "Alice trusts bob at distance 1; carol is unknown to her"
df alice trust set "${key[bob]}" 1 --note bob >/dev/null
df alice trust list | sed 's/^/  /'

section "Starting the nodes (alice serves the sample UserProfile schema)"
declare -A address
for who in alice bob carol; do
  extra=()
  [ "$who" = alice ] && extra=(--sample)
  "$datafold" --data-dir "$work/$who" node --listen 127.0.0.1:0 --http 127.0.0.1:0 --no-port-mapping "${lan[@]}" \
    --announce-interval-ms 2000 "${extra[@]}" >"$work/$who.out" 2>"$work/$who.log" &
  pids+=($!)
done
for who in alice bob carol; do
  for _ in $(seq 1 200); do
    grep -q "HTTP API on" "$work/$who.log" 2>/dev/null && grep -q "listening on" "$work/$who.out" && break
    sleep 0.05
  done
  address[$who]=$(sed -n 's/.* listening on \(.*\)$/\1/p' "$work/$who.out")
  [ -n "${address[$who]}" ] || { echo "node $who did not start:" >&2; cat "$work/$who.log" >&2; exit 1; }
  printf '  %-6s listening on %s\n' "$who" "${address[$who]}"
done

section "Discovery: what carol finds on the LAN (signed UDP multicast + broadcast)"
df carol discover "${lan[@]}" | sed 's/^/  /'

section "Schema listing: alice's schemas, as bob and carol see them"
for who in bob carol; do
  printf '  as %s:\n' "$who"
  df "$who" schemas "${address[alice]}" --network "$network" | sed 's/^/    /'
done

section "The same query to alice, from a trusted and an unknown node"
for who in bob carol; do
  if [ "$who" = bob ]; then label="trusted (distance 1)"; else label="unknown"; fi
  printf '  %s asks, %s:\n' "$who" "$label"
  df "$who" query "${address[alice]}" UserProfile username email phone --network "$network" \
    | sed 's/^/    /'
done

cat <<EOF

bob reads email (alice allows distance 1) but not phone (distance 0 only);
carol, whom alice does not know, reads only the public fields.
EOF

if [ "$duration" -gt 0 ]; then
  section "The network stays up for $duration s; try for example:"
  echo "  $datafold --data-dir $work/bob query ${address[alice]} UserProfile username email"
  echo "  $datafold --data-dir $work/bob peers"
  sleep "$duration"
fi

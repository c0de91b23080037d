#!/usr/bin/env bash
# Instructions per query: a cost that does not move when the machine is busy, so the
# effect of a change shows where q/s and latency are noise. Runs the load under
# valgrind's callgrind twice, a short and a long window, and divides the difference in
# instructions by the difference in queries answered: what every run pays once (start,
# keys, handshakes, warm-up, shutdown) cancels out.
#
#   scripts/instructions_per_query.sh [--shapes 1x1,16x16] [--build DIR] [--no-grpc]
#
# For each shape it prints one JSON line (progress goes to stderr): the node's instructions per query (client and
# server together, both in the one `datafold bench` process) and, when the gRPC peer is
# built, the same for gRPC. Under callgrind a run is ~50x slower: about two minutes per
# shape (more on a busy machine). Needs valgrind (apt-get install valgrind). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

shapes=1x1,16x16
build=build
grpc=1
while [ $# -gt 0 ]; do
  case "$1" in
    --shapes) shapes=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --no-grpc) grpc=0; shift ;;
    *) echo "usage: $0 [--shapes 1x1,16x16] [--build DIR] [--no-grpc]" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "$0: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
datafold=$build/apps/datafold/datafold
peer=$build/apps/datafold/datafold-grpc-peer
[ -x "$datafold" ] || { echo "$0: no $datafold; build first (scripts/setup.sh)" >&2; exit 1; }
if [ $grpc -eq 1 ] && [ ! -x "$peer" ]; then
  echo "$0: no $peer (gRPC not installed when built); measuring the node alone" >&2
  grpc=0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Seconds of measured window, short and long, under callgrind.
short=2
long=6

# callgrind_total <out-file>: the total instruction count (event Ir) of a callgrind run.
callgrind_total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }

# per_query <name> <short Ir> <short queries> <long Ir> <long queries>
per_query() {
  local name=$1 s_ir=$2 s_q=$3 l_ir=$4 l_q=$5
  python3 -c "
import json, sys
name, s_ir, s_q, l_ir, l_q = sys.argv[1], *map(int, sys.argv[2:])
dq = l_q - s_q
print(json.dumps({'name': name, 'queries_short': s_q, 'queries_long': l_q,
                  'instructions_per_query': round((l_ir - s_ir) / dq) if dq > 0 else None}))
" "$name" "$s_ir" "$s_q" "$l_ir" "$l_q"
}

# under_callgrind <out> <command...>: runs it, once more if it fails (a call can miss
# its 5 s deadline when callgrind runs on a busy machine), and says why if it fails again.
under_callgrind() {
  local out=$1
  shift
  for attempt in 1 2; do
    if valgrind --tool=callgrind --callgrind-out-file="$out.cg" -q "$@" >"$out.json" 2>"$out.err"; then return 0; fi
    echo "$0: $(basename "$1") under callgrind failed (attempt $attempt):" >&2
    { tail -3 "$out.err"; grep -o '"error":"[^"]*"' "$out.json" || true; } | sed 's/^/  /' >&2
  done
  exit 1
}

run_node() {  # run_node <shape> <seconds> -> "<Ir> <completed>"
  local out=$work/node-$1-$2
  under_callgrind "$out" "$datafold" bench --shapes "$1" --duration "$2"
  echo "$(callgrind_total "$out.cg") $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['runs'][0]['node']['completed'])" "$out.json")"
}

run_grpc() {  # run_grpc <shape> <seconds> <request_bytes> <response_bytes> -> "<Ir> <completed>"
  local out=$work/grpc-$1-$2 c=${1%x*} m=${1#*x}
  under_callgrind "$out" "$peer" --connections "$c" --in-flight "$m" --duration-ms $(($2 * 1000)) \
    --warmup-ms 500 --request-bytes "$3" --response-bytes "$4" --timeout-ms 60000
  echo "$(callgrind_total "$out.cg") $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['completed'])" "$out.json")"
}

IFS=, read -r -a shape_list <<<"$shapes"
for shape in "${shape_list[@]}"; do
  [[ $shape =~ ^[0-9]+x[0-9]+$ ]] || { echo "$0: '$shape' is not CxM" >&2; exit 2; }
  echo "==> $shape: the node under callgrind (${short} s and ${long} s windows)" >&2
  read -r s_ir s_q <<<"$(run_node "$shape" $short)"
  read -r l_ir l_q <<<"$(run_node "$shape" $long)"
  [ -n "$s_q" ] && [ -n "$l_q" ] || exit 1
  node=$(per_query node "$s_ir" "$s_q" "$l_ir" "$l_q")
  line="{\"shape\": \"$shape\", \"node\": $node"
  if [ $grpc -eq 1 ]; then
    # The same payload sizes as the node's run carried.
    read -r req resp <<<"$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['request_bytes'], d['response_bytes'])" "$work/node-$shape-$short.json")"
    echo "==> $shape: the gRPC peer under callgrind" >&2
    read -r s_ir s_q <<<"$(run_grpc "$shape" $short "$req" "$resp")"
    read -r l_ir l_q <<<"$(run_grpc "$shape" $long "$req" "$resp")"
    [ -n "$s_q" ] && [ -n "$l_q" ] || exit 1
    line="$line, \"grpc\": $(per_query grpc "$s_ir" "$s_q" "$l_ir" "$l_q")"
  fi
  echo "$line}"
done

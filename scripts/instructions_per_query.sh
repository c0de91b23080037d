#!/usr/bin/env bash
# Instructions per query: a cost that does not move when the machine is busy, so the
# effect of a change shows where q/s and latency are noise. Runs each load under
# valgrind's callgrind; the load marks its measured window (bench/load/
# measured_window.hpp), so only the instructions of the window are counted (every
# thread: client and server), and they are divided by the queries the window
# completed. Start-up, handshakes, warm-up and shutdown are left out.
#
#   scripts/instructions_per_query.sh [--shapes 1x1,1x64,16x16] [--build DIR] [--no-grpc] [--store]
#
# --store also counts the SQLite store target's load (`datafold bench --store`: a node
# answering from a store seeded as `datafold node --sample` is), as "store".
#
# For each shape it prints one JSON line (progress goes to stderr): instructions per
# query of the node, of the raw TCP and raw TLS floors of the same load, and, when the
# gRPC peer is built, of gRPC. Each load runs a 3 s window, about 50x slower than
# natively: a minute or two per shape. Needs valgrind (its headers when the bench is
# built, and the program to run it). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

default_shapes=1x1,1x64,16x16
source scripts/per_query_options.sh "$@"
command -v valgrind >/dev/null || { echo "$0: needs valgrind (apt-get install valgrind)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seconds=3

# under_callgrind <out> <command...>: runs it, once more if it fails (a call can miss
# its deadline when callgrind runs on a busy machine), and says why if it fails again.
under_callgrind() {
  local out=$1
  shift
  for attempt in 1 2; do
    rm -f "$out".cg*
    if valgrind --tool=callgrind --callgrind-out-file="$out.cg" -q "$@" >"$out.json" 2>"$out.err"; then return 0; fi
    echo "$0: $(basename "$1") under callgrind failed (attempt $attempt):" >&2
    { tail -3 "$out.err"; grep -o '"error": *"[^"]*"' "$out.json" || true; } | sed 's/^/  /' >&2
  done
  return 1
}

# per_query <callgrind dump> <report JSON> <python path to the report> -> JSON object
per_query() {
  python3 - "$@" <<'PY'
import json, re, sys
dump, report, path = sys.argv[1:]
# "totals:" sums the costs in this dump: the window's, every thread's. ("summary:"
# also counts what the other threads did before the window opened: start-up and
# handshakes.)
total = None
with open(dump) as f:
    for line in f:
        m = re.match(r'^totals:\s+(\d+)', line)
        if m:
            total = int(m.group(1))
run = json.load(open(report))
for key in [k for k in path.split('.') if k]:
    run = run[int(key)] if key.isdigit() else run[key]
q = run['completed']
print(json.dumps({'queries': q, 'instructions_per_query': round(total / q) if total and q else None}))
PY
}

IFS=, read -r -a shape_list <<<"$shapes"
for shape in "${shape_list[@]}"; do
  [[ $shape =~ ^[0-9]+x[0-9]+$ ]] || { echo "$0: '$shape' is not CxM" >&2; exit 2; }
  echo "==> $shape: the node and the floors under callgrind" >&2
  out=$work/node-$shape
  store_flag=()
  [ $store -eq 1 ] && store_flag=(--store)
  under_callgrind "$out" "$datafold" bench --shapes "$shape" --duration $seconds --floor "${store_flag[@]}" || exit 1
  # One dump per measured window, in the order the bench runs them: the node, the
  # store target (with --store), then the TCP and TLS floors.
  windows=3
  [ $store -eq 1 ] && windows=4
  [ -f "$out.cg.$windows" ] || { echo "$0: expected $windows window dumps; was the bench built without valgrind's headers?" >&2; exit 1; }
  line="{\"shape\": \"$shape\""
  line="$line, \"node\": $(per_query "$out.cg.1" "$out.json" runs.0.node)"
  [ $store -eq 1 ] && line="$line, \"store\": $(per_query "$out.cg.2" "$out.json" runs.0.store)"
  line="$line, \"tcp_floor\": $(per_query "$out.cg.$((windows - 1))" "$out.json" runs.0.tcp_floor)"
  line="$line, \"tls_floor\": $(per_query "$out.cg.$windows" "$out.json" runs.0.tls_floor)"
  if [ $grpc -eq 1 ]; then
    echo "==> $shape: the gRPC peer under callgrind" >&2
    read -r req resp <<<"$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['request_bytes'], d['response_bytes'])" "$out.json")"
    gout=$work/grpc-$shape
    under_callgrind "$gout" "$peer" --connections "${shape%x*}" --in-flight "${shape#*x}" \
      --duration-ms $((seconds * 1000)) --warmup-ms 500 --request-bytes "$req" --response-bytes "$resp" \
      --timeout-ms 60000 || exit 1
    line="$line, \"grpc\": $(per_query "$gout.cg.1" "$gout.json" .)"
  fi
  echo "$line}"
done

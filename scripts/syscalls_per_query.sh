#!/usr/bin/env bash
# System calls per query: the kernel's part of a query's cost, which callgrind does not
# see (scripts/instructions_per_query.sh counts user space only) and which, like
# instructions, does not move when the machine is busy. It is what sets how throughput
# holds as connections grow: with fewer queries in flight per connection, each round
# trip's recv, send and epoll calls are shared by fewer queries.
#
#   scripts/syscalls_per_query.sh [--shapes 16x16,100x4] [--build DIR] [--no-grpc] [--store]
#
# Each load runs under `perf stat`, which counts only its measured window (the bench
# tells perf when it opens and closes: bench/load/measured_window.hpp). perf sums over
# its run, so each load is a run of its own: `datafold bench --floor` once per window
# it measures, the gRPC peer once. --store adds the SQLite store target (`bench
# --store`) as "store".
#
# For each shape it prints one JSON line (progress goes to stderr): per query of the
# node, the raw TCP and raw TLS floors (and gRPC, and the store), every system call
# ("syscalls") and those the I/O makes ("send": sendto and sendmsg, "recv": recvfrom
# and recvmsg, "epoll_ctl", "epoll_wait", "futex"), and context switches. About ten
# seconds a load. Needs perf (Debian's linux-perf) and the kernel's syscall tracepoints
# (root, or a perf_event_paranoid that allows them). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

default_shapes=16x16,100x4
source scripts/per_query_options.sh "$@"
command -v perf >/dev/null || { echo "$0: needs perf (apt-get install linux-perf)" >&2; exit 1; }
events=raw_syscalls:sys_enter
for call in sendto sendmsg recvfrom recvmsg epoll_ctl epoll_wait futex; do events="$events,syscalls:sys_enter_$call"; done
events="$events,context-switches"
if ! perf stat -x, -e "$events" -o /dev/null -- true 2>/dev/null; then
  echo "$0: perf cannot count the syscall tracepoints here (run as root, or lower" \
    "/proc/sys/kernel/perf_event_paranoid)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkfifo "$work/ctl" "$work/ack"
seconds=3

# under_perf <out> <window> <command...>: runs the command under perf stat, counting its
# <window>th measured window only; <out>.csv gets the counts, <out>.json its report.
under_perf() {
  local out=$1 window=$2
  shift 2
  if ! DATAFOLD_PERF_CONTROL="$work/ctl,$work/ack" DATAFOLD_PERF_WINDOW=$window \
    perf stat -x, -D -1 --control "fifo:$work/ctl,$work/ack" -e "$events" -o "$out.csv" -- "$@" \
    >"$out.json" 2>"$out.err"; then
    echo "$0: $(basename "$1") under perf failed:" >&2
    { grep -v '^Events ' "$out.err" | tail -3; grep -o '"error": *"[^"]*"' "$out.json" || true; } | sed 's/^/  /' >&2
    return 1
  fi
  grep -q '^Events enabled' "$out.err" ||
    { echo "$0: $(basename "$1") never opened measured window $window" >&2; return 1; }
}

# per_query <perf csv> <report JSON> <python path to the report> -> JSON object
per_query() {
  python3 - "$@" <<'PY'
import json, sys
counts_file, report, path = sys.argv[1:]
counts = {}
for line in open(counts_file):
    fields = line.strip().split(',')
    if len(fields) < 3 or line.startswith('#'):
        continue
    try:
        counts[fields[2]] = int(fields[0])
    except ValueError:
        sys.exit(f'perf did not count {fields[2]}: {fields[0]}')
run = json.load(open(report))
for key in [k for k in path.split('.') if k]:
    run = run[int(key)] if key.isdigit() else run[key]
q = run['completed']
if not q:
    sys.exit('the load completed no queries')
def calls(*names):
    return sum(counts.get('syscalls:sys_enter_' + n, 0) for n in names)
out = {'queries': q, 'syscalls': counts['raw_syscalls:sys_enter'] / q,
       'send': calls('sendto', 'sendmsg') / q, 'recv': calls('recvfrom', 'recvmsg') / q,
       'epoll_ctl': calls('epoll_ctl') / q, 'epoll_wait': calls('epoll_wait') / q,
       'futex': calls('futex') / q, 'context_switches': counts['context-switches'] / q}
print(json.dumps({k: (v if k == 'queries' else round(v, 4)) for k, v in out.items()}))
PY
}

IFS=, read -r -a shape_list <<<"$shapes"
for shape in "${shape_list[@]}"; do
  [[ $shape =~ ^[0-9]+x[0-9]+$ ]] || { echo "$0: '$shape' is not CxM" >&2; exit 2; }
  store_flag=()
  loads=(node tcp_floor tls_floor)
  if [ $store -eq 1 ]; then
    store_flag=(--store)
    loads=(node store tcp_floor tls_floor)
  fi
  line="{\"shape\": \"$shape\""
  # The bench measures its loads in this order, a window each.
  for i in "${!loads[@]}"; do
    load=${loads[$i]}
    echo "==> $shape: $load under perf" >&2
    out=$work/$load-$shape
    under_perf "$out" $((i + 1)) "$datafold" bench --shapes "$shape" --rounds 1 --duration $seconds --floor \
      "${store_flag[@]}" || exit 1
    line="$line, \"$load\": $(per_query "$out.csv" "$out.json" "runs.0.$load")"
  done
  if [ $grpc -eq 1 ]; then
    echo "==> $shape: the gRPC peer under perf" >&2
    read -r req resp <<<"$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['request_bytes'], d['response_bytes'])" "$out.json")"
    gout=$work/grpc-$shape
    under_perf "$gout" 1 "$peer" --connections "${shape%x*}" --in-flight "${shape#*x}" \
      --duration-ms $((seconds * 1000)) --warmup-ms 500 --request-bytes "$req" --response-bytes "$resp" || exit 1
    line="$line, \"grpc\": $(per_query "$gout.csv" "$gout.json" .)"
  fi
  echo "$line}"
done

# The options and programs of the scripts that count a query's cost
# (instructions_per_query.sh, syscalls_per_query.sh). Sourced from the project's root
# with the script's arguments, after it sets default_shapes; sets shapes, grpc (0 when
# the gRPC peer was not built), store, datafold and peer.
shapes=$default_shapes
build=build
grpc=1
store=0
while [ $# -gt 0 ]; do
  case "$1" in
    --shapes) shapes=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --no-grpc) grpc=0; shift ;;
    --store) store=1; shift ;;
    *) echo "usage: $0 [--shapes $default_shapes] [--build DIR] [--no-grpc] [--store]" >&2; exit 2 ;;
  esac
done
datafold=$build/apps/datafold/datafold
peer=$build/apps/datafold/datafold-grpc-peer
[ -x "$datafold" ] || { echo "$0: no $datafold; build first (scripts/setup.sh)" >&2; exit 1; }
if [ $grpc -eq 1 ] && [ ! -x "$peer" ]; then
  echo "$0: no $peer (gRPC was not installed when it was built); measuring without it" >&2
  grpc=0
fi

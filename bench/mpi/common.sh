# Sourced by the bench/mpi scripts: mpirun as root, oversubscribed and unbound (TBB inside each
# rank), and a scratch directory $out removed on exit. BUILD is the build directory ($1 or build/mpi).
set -eu
BUILD=${1:-build/mpi}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpi() {  # mpi RANKS PROGRAM ARGS...
  local n=$1; shift
  mpirun -n "$n" --oversubscribe --bind-to none "$@"
}

#!/usr/bin/env bash
# One writer rank against parallel HDF5 collective writes (docs/cluster.md): UNITS units of
# K doubles into one [UNITS, K] dataset at 1, 2 and 4 ranks, best of 3, and checks that both
# files hold the same values. Usage: bench/mpi/write.sh [BUILD_DIR] (default build/mpi; build
# the two prototypes first: cmake --build --preset mpi --target lepsim_mpi_write_writer
# lepsim_mpi_write_collective).
. "$(dirname "$0")/common.sh"
bin=$BUILD/bench/mpi
units=${UNITS:-8000} k=${K:-4096}
echo "ranks | one writer MB/s (best of 3) | collective MB/s (best of 3)   [$units x $k doubles]"
for n in 1 2 4; do
  best() {
    for _ in 1 2 3; do mpi $n "$@" | sed -n 's/.* MB\/s \(.*\)/\1/p'; done |
      sort -g | tail -n 1
  }
  w=$(best "$bin/lepsim_mpi_write_writer" "$units" "$k" "$out/w.h5")
  c=$(best "$bin/lepsim_mpi_write_collective" "$units" "$k" "$out/c.h5" 64)
  printf "%s | %.0f | %.0f\n" $n "$w" "$c"
done
/usr/bin/python3 -c "
import h5py, numpy, sys
a = h5py.File(sys.argv[1])['values'][...]; b = h5py.File(sys.argv[2])['values'][...]
print('same values in both files:', a.shape == b.shape and numpy.array_equal(a, b))" "$out/w.h5" "$out/c.h5"

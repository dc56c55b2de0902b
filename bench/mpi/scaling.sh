#!/usr/bin/env bash
# Scaling of the toy job (docs/cluster.md, "Measured"): UNITS units of mean cost 2.5 x WORK_US
# microseconds of busy work, one TBB thread per rank, at 1, 2 and 4 ranks (4 oversubscribed on
# a 2-core machine), rank 0 computing or not. Best of 3. Usage: bench/mpi/scaling.sh [BUILD_DIR]
. "$(dirname "$0")/common.sh"
toy=$BUILD/tests/lepsim_mpi_toy
units=${UNITS:-400} work=${WORK_US:-2000}
echo "ranks | rank 0 | seconds (best of 3) | units/s | per rank   [$units units, mean $((work * 5 / 2)) us; $(nproc) cores; load $(cut -d' ' -f1 /proc/loadavg)]"
for n in 1 2 4; do
  for mode in computes idle; do
    [ $n = 1 ] && [ $mode = idle ] && continue
    flag=""; [ $mode = idle ] && flag=--rank0-idle
    for _ in 1 2 3; do
      mpi $n "$toy" --threads 1 --units "$units" --work-us "$work" $flag \
        --output "$out/x.bin" 2>&1 >/dev/null | tail -n 1
    done | sort -t' ' -k6 -g | head -n 1 |
      sed -n "s/.* seconds \([0-9.e+-]*\) units\/s \([0-9.e+-]*\) .* per_rank \(.*\)/$n | $mode | \1 | \2 | \3/p"
  done
done

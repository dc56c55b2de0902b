#!/usr/bin/env bash
# Hand-out cost of lepsim::mpi::distribute_units (docs/cluster.md, "Measured"): the toy job's
# units cost nothing (--work-us 0), so the time per unit is rank 0's hand-out, the message
# round trip and the ordered write. Usage: bench/mpi/handout.sh [BUILD_DIR] (default build/mpi).
. "$(dirname "$0")/common.sh"
toy=$BUILD/tests/lepsim_mpi_toy
units=${UNITS:-20000}
echo "ranks | rank 0 | poll_us | units/s | us per unit | per rank"
for n in 2 3 4; do
  for mode in idle computes; do
    for poll in 0 50; do
      flag=""; [ $mode = idle ] && flag=--rank0-idle
      line=$(mpi $n "$toy" --threads 1 --units "$units" --work-us 0 \
               --poll-us $poll $flag --output "$out/x.bin" 2>&1 >/dev/null | tail -n 1)
      rate=$(sed -n 's/.* units\/s \([0-9.e+]*\) .*/\1/p' <<<"$line")
      per=$(sed -n 's/.* per_rank \(.*\)/\1/p' <<<"$line")
      printf "%s | %s | %s | %.0f | %.1f | %s\n" $n $mode $poll "$rate" "$(echo "1000000 / $rate" | bc -l)" "$per"
    done
  done
done

#!/usr/bin/env bash
# Scaling of `lepsim run` over MPI ranks and the unit costs of the cluster model
# (docs/cluster.md, "Measured: lepsim run"): REPS replications of SCENARIO (default
# scenarios/bsf.toml, 400) one thread per rank at 1, 2 and 4 ranks (4 oversubscribed on a
# 2-core machine), best of 2 wall times of the whole command; then the shard path (4 shards
# one after another) and `lepsim merge` of them, whose time per replication is the replay
# cost of the single writer (deserialise + append + summaries) that bounds the MPI job too.
# Usage: bench/mpi/run_scaling.sh [BUILD_DIR]   (an MPI build: build/mpi by default)
. "$(dirname "$0")/common.sh"
lepsim=$BUILD/engine/lepsim
sc=${SCENARIO:-scenarios/bsf.toml} reps=${REPS:-400} block=${BLOCK:-8}
best() {  # best LABEL COMMAND...: the least wall time of 2 runs, in seconds
  local label=$1; shift
  local t best=""
  for _ in 1 2; do
    rm -f "$out"/*.h5 "$out"/*.partial
    t=$( { /usr/bin/time -f %e "$@" >/dev/null 2>"$out/err"; } 2>&1; tail -n 1 "$out/err")
    best=$(printf '%s\n%s\n' "$best" "$t" | sed '/^$/d' | sort -g | head -n 1)
  done
  echo "$label | $best"
}
echo "how | seconds (best of 2)   [$sc, $reps replications, blocks of $block; $(nproc) cores; load $(cut -d' ' -f1 /proc/loadavg)]"
best "one process, -t 1" "$lepsim" run "$sc" -r "$reps" --block "$block" -t 1 -o "$out/a.h5"
best "one process, -t 2" "$lepsim" run "$sc" -r "$reps" --block "$block" -t 2 -o "$out/a.h5"
for n in 1 2 4; do
  best "mpirun -n $n, -t 1" mpirun -n "$n" --oversubscribe --bind-to none "$lepsim" run "$sc" -r "$reps" --block "$block" -t 1 -o "$out/a.h5"
done
best "mpirun -n 2, -t 2" mpirun -n 2 --oversubscribe --bind-to none "$lepsim" run "$sc" -r "$reps" --block "$block" -t 2 -o "$out/a.h5"
# Shards and merge: the merge's time per replication is the single writer's replay cost.
for k in 0 1 2 3; do "$lepsim" run "$sc" -r "$reps" --block "$block" -t 2 --shard "$k/4" -o "$out/s$k.h5" >/dev/null; done
echo "4 shards: $(du -cb "$out"/s?.h5 | tail -n 1 | cut -f1) bytes"
# The merge's fixed part (reading the scenario again, creating the file): one shard of 1 block.
"$lepsim" run "$sc" -r "$block" --block "$block" --shard 0/1 -o "$out/one-block.h5" >/dev/null
t1=$( { /usr/bin/time -f %e "$lepsim" merge "$out/one-block.h5" -o "$out/m1.h5" >/dev/null 2>"$out/err"; } 2>&1; tail -n 1 "$out/err")
echo "merge of 1 shard of $block replications | $t1 s"
t=$( { /usr/bin/time -f %e "$lepsim" merge "$out"/s?.h5 -o "$out/m.h5" >/dev/null 2>"$out/err"; } 2>&1; tail -n 1 "$out/err")
echo "merge of 4 shards | $t s, $(awk -v t="$t" -v r="$reps" 'BEGIN{printf "%.0f", 1e6 * t / r}') us per replication; run file $(stat -c %s "$out/m.h5") bytes"

#!/usr/bin/env bash
# `mpirun -n N lepsim experiment` (MPI build, docs/cluster.md "MPI jobs"): the same datasets as
# one process at 1, 2, 3 and 4 ranks (oversubscribed, 2 TBB threads per rank, --bind-to none);
# a shard over ranks; more ranks than units does not hang; a rank killed mid-job fails the job
# (non-zero, no file under the final name, the checkpoint kept) and --resume completes it to
# the same datasets. Needs LEPSIM, SOURCE_DIR and MPIEXEC.
. "$SOURCE_DIR/tests/shell_lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
sed "s|^base = \"\.\./|base = \"$SOURCE_DIR/scenarios/|" "$SOURCE_DIR/scenarios/experiments/policy-grid.toml" > grid.toml
same() { /usr/bin/python3 "$SOURCE_DIR/tests/tools/compare_runs.py" "$1" "$2"; }
mpi() {  # mpi RANKS LEPSIM-ARGS...: at most 120 s, so a hang fails instead of blocking
  local n=$1; shift
  timeout 120 "$MPIEXEC" -n "$n" --oversubscribe --bind-to none "$LEPSIM" "$@"
}

# 1. 9 points x 8 replications in blocks of 2: 36 units, same bits at any rank count.
check "one process" 0 "$LEPSIM" experiment grid.toml -r 8 --block 2 -t 2 -o one.h5
for n in 1 2 3 4; do
  check "mpirun -n $n" 0 mpi "$n" experiment grid.toml -r 8 --block 2 -t 2 -o "n$n.h5"
  expect "$n ranks = one process" same one.h5 "n$n.h5"
done
grep -c "^wrote n4.h5" out.txt | grep -qx 1 || { echo "FAIL: rank 0 alone should report: $(cat out.txt)"; fail=1; }
expect "no temporaries or checkpoints left" bash -c '! ls *.tmp-* *.partial >/dev/null 2>&1'

# 2. A shard run over 3 ranks is the shard one process writes.
check "shard 1/3, one process" 0 "$LEPSIM" experiment grid.toml -r 8 --block 2 --shard 1/3 -o s1.h5
check "shard 1/3 over 3 ranks" 0 mpi 3 experiment grid.toml -r 8 --block 2 --shard 1/3 -o s1-mpi.h5
expect "the same shard file" same s1.h5 s1-mpi.h5

# 3. More ranks than units: 1 point x 2 replications in one unit, over 4 ranks.
sed -e 's/^levels = \[15, 30, 60\]/levels = [30]/' -e 's/^levels = \[0, 2, 4\]/levels = [2]/' grid.toml > tiny.toml
check "1 unit, one process" 0 "$LEPSIM" experiment tiny.toml -r 2 -o tiny1.h5
check "1 unit over 4 ranks: no hang" 0 mpi 4 experiment tiny.toml -r 2 -o tiny4.h5
expect "1 unit over 4 ranks = one process" same tiny1.h5 tiny4.h5

# A failure of rank 0 alone (its output exists) and of every rank (no such experiment): the
# job ends with the failure's code (MPI_Abort), says why, and does not hang.
check "rank 0's output exists: exit 4" 4 mpi 3 experiment tiny.toml -r 2 -o tiny1.h5
grep -q "error: output file tiny1.h5 already exists" err.txt || { echo "FAIL: no reason given: $(cat err.txt)"; fail=1; }
check "no such experiment: exit 3" 3 mpi 3 experiment nowhere.toml -o nowhere.h5
grep -q "nowhere.toml: cannot read the experiment file" err.txt || { echo "FAIL: no reason given: $(cat err.txt)"; fail=1; }

check "lepsim export over 2 ranks is refused (exit 2)" 2 mpi 2 export tiny1.h5 --to csvdir
grep -q "does not run over MPI ranks" err.txt || { echo "FAIL: no reason given: $(cat err.txt)"; fail=1; }
expect "nothing written by the refused export" test ! -e csvdir

# 4. A worker rank killed with SIGKILL mid-job: the job fails, no file, the checkpoint stays;
# --resume (over 2 ranks) completes it to the bits of one process.
check "one process, 9 x 100" 0 "$LEPSIM" experiment grid.toml -r 100 --block 2 -t 2 -o ref.h5
timeout 120 "$MPIEXEC" -n 3 --oversubscribe --bind-to none "$LEPSIM" experiment grid.toml -r 100 --block 2 -t 2 \
  -o killed.h5 >killed.out 2>killed.err &
job=$!  # timeout; its child is mpirun, whose children are the ranks
victim=""
for _ in $(seq 1 400); do
  if [ -z "$victim" ]; then
    for runner in $(ps -o pid= --ppid "$job"); do
      for p in $(ps -o pid= --ppid "$runner"); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p
      done
    done
  fi
  [ -n "$victim" ] && [ -s killed.h5.partial ] && [ "$(stat -c %s killed.h5.partial)" -gt 100000 ] && break
  sleep 0.05
done
if [ -z "$victim" ]; then echo "FAIL: rank 1 not found"; fail=1; kill "$job"; fi
[ -n "$victim" ] && kill -KILL "$victim"
wait "$job"
code=$?
echo "   (mpirun's exit code after rank 1's SIGKILL: $code)"
if [ "$code" != 0 ] && [ "$code" != 124 ]; then echo "ok: a killed rank fails the job (exit $code), no hang"
else echo "FAIL: a killed rank: exit $code"; cat killed.err; fail=1; fi
expect "no file under the final name" test ! -e killed.h5
expect "no temporary left" bash -c '! ls *.tmp-* >/dev/null 2>&1'
expect "the checkpoint is kept" test -s killed.h5.partial
check "--resume over 2 ranks" 0 mpi 2 experiment grid.toml -r 100 --block 2 -t 2 -o killed.h5 --resume
grep -q "replications resumed from the checkpoint" out.txt && ! grep -q "resuming from killed.h5.partial: 0 of" err.txt || { echo "FAIL: nothing resumed: $(cat out.txt err.txt)"; fail=1; }
expect "killed and resumed = one process" same ref.h5 killed.h5
exit $fail

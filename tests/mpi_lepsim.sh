#!/usr/bin/env bash
# `mpirun -n N lepsim experiment` (MPI build, docs/cluster.md "MPI jobs"): the same datasets as
# one process at 1, 2, 3 and 4 ranks (oversubscribed, 2 TBB threads per rank, --bind-to none);
# a shard over ranks; more ranks than units does not hang; a rank killed mid-job fails the job
# (non-zero, no file under the final name, the checkpoint kept) and --resume completes it to
# the same datasets. Needs LEPSIM, SOURCE_DIR and MPIEXEC.
. "$SOURCE_DIR/tests/shell_lib.sh"
. "$SOURCE_DIR/tests/mpi_lib.sh"
sed "s|^base = \"\.\./|base = \"$SOURCE_DIR/scenarios/|" "$SOURCE_DIR/scenarios/experiments/policy-grid.toml" > grid.toml
same() { /usr/bin/python3 "$SOURCE_DIR/tests/tools/compare_runs.py" "$1" "$2"; }

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
kill_and_resume killed experiment grid.toml -r 100 --block 2 -t 2
expect "killed and resumed = one process" same ref.h5 killed.h5
exit $fail

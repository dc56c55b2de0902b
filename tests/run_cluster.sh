#!/usr/bin/env bash
# `mpirun -n N lepsim run` (MPI build, docs/cluster.md "MPI jobs") and the checksum table of
# issue 14: a run and an experiment, each computed as one process, over 2, 3 and 4 ranks
# (oversubscribed, --bind-to none, TBB threads inside each rank), as 3 and as 7 shards merged,
# and as an MPI job whose rank 1 is killed (SIGKILL) mid-job and resumed with --resume; one
# checksum (tests/tools/compare_runs.py --checksum: every dataset and attribute but created
# and git_revision) per file, all equal. Also: more ranks than blocks does not hang, a shard
# over ranks is the shard of one process, a killed rank fails the job (non-zero, no file
# under the final name, the checkpoint kept), a failure of rank 0 alone ends the job with its
# code. Needs LEPSIM, SOURCE_DIR and MPIEXEC.
. "$SOURCE_DIR/tests/shell_lib.sh"
. "$SOURCE_DIR/tests/mpi_lib.sh"
cp "$SOURCE_DIR/scenarios/example.toml" sc.toml
sed "s|^base = \"\.\./|base = \"$SOURCE_DIR/scenarios/|" "$SOURCE_DIR/scenarios/experiments/policy-grid.toml" > grid.toml
tool=$SOURCE_DIR/tests/tools/compare_runs.py
same() { /usr/bin/python3 "$tool" "$1" "$2"; }
sum() { /usr/bin/python3 "$tool" --checksum "$1" | cut -c1-16; }
RUN1=(run sc.toml -r "${RUN_REPLICATIONS:-3000}" --block 8)  # 375 blocks
RUN=("${RUN1[@]}" -t 2)
EXP=(experiment grid.toml -r "${EXP_REPLICATIONS:-60}" --block 2 -t 2)  # 9 points x 30 blocks

# 1. lepsim run: one process, 1-4 ranks, shards merged, killed and resumed.
check "run, one process" 0 "$LEPSIM" "${RUN[@]}" -o run-one.h5
for n in 1 2 3 4; do
  check "run, mpirun -n $n" 0 mpi "$n" "${RUN[@]}" -o "run-n$n.h5"
  expect "run: $n ranks = one process" same run-one.h5 "run-n$n.h5"
done
grep -c "^wrote run-n4.h5" out.txt | grep -qx 1 || { echo "FAIL: rank 0 alone should report: $(cat out.txt)"; fail=1; }
check "run, 1 thread per rank, 3 ranks" 0 mpi 3 "${RUN1[@]}" -t 1 -o run-t1.h5
expect "run: 3 ranks x 1 thread = one process x 2 threads" same run-one.h5 run-t1.h5
for n in 3 7; do
  for k in $(seq 0 $((n - 1))); do check "run shard $k/$n" 0 "$LEPSIM" "${RUN[@]}" --shard "$k/$n" -o "run-s$k-$n.h5"; done
  check "run: merge $n shards" 0 "$LEPSIM" merge run-s*-$n.h5 -o "run-merged$n.h5"
done
check "run shard 1/3 over 3 ranks" 0 mpi 3 "${RUN[@]}" --shard 1/3 -o run-s1-mpi.h5
expect "run: the shard over 3 ranks = the shard of one process" same run-s1-3.h5 run-s1-mpi.h5
# A temporary of a writer that died without unwinding: --resume, holding the checkpoint's
# lock, removes it (kill_and_resume checks that none is left after --resume).
touch run-killed.h5.tmp-999999999
KILL_AFTER_BYTES=200000 kill_and_resume run-killed "${RUN[@]}"
expect "no temporaries or checkpoints left" bash -c '! ls *.tmp-* *.partial >/dev/null 2>&1'

# More ranks than blocks: 3 replications in one block, over 4 ranks.
check "run, 1 block, one process" 0 "$LEPSIM" run sc.toml -r 3 --block 4 -o tiny1.h5
check "run, 1 block over 4 ranks: no hang" 0 mpi 4 run sc.toml -r 3 --block 4 -o tiny4.h5
expect "run: 1 block over 4 ranks = one process" same tiny1.h5 tiny4.h5
# A failure of rank 0 alone (its output exists): the job ends with its code, says why, no hang.
check "run: rank 0's output exists: exit 4" 4 mpi 3 run sc.toml -r 3 -o tiny1.h5
grep -q "error: output file tiny1.h5 already exists" err.txt || { echo "FAIL: no reason given: $(cat err.txt)"; fail=1; }
check "run: --precision over ranks is refused (exit 2)" 2 mpi 2 run sc.toml --precision 0.1 --on completed -o p.h5
expect "nothing written by the refused run" test ! -e p.h5

# 2. lepsim experiment: the same ways.
check "experiment, one process" 0 "$LEPSIM" "${EXP[@]}" -o exp-one.h5
for n in 2 3 4; do check "experiment, mpirun -n $n" 0 mpi "$n" "${EXP[@]}" -o "exp-n$n.h5"; done
for n in 3 7; do
  for k in $(seq 0 $((n - 1))); do check "experiment shard $k/$n" 0 "$LEPSIM" "${EXP[@]}" --shard "$k/$n" -o "exp-s$k-$n.h5"; done
  check "experiment: merge $n shards" 0 "$LEPSIM" merge exp-s*-$n.h5 -o "exp-merged$n.h5"
done
kill_and_resume exp-killed "${EXP[@]}"

# 3. The table: one checksum per column.
printf '\n| how | lepsim run (%s) | lepsim experiment (%s) |\n|---|---|---|\n' "${RUN[*]:1}" "${EXP[*]:1}"
row() { printf '| %s | %s | %s |\n' "$1" "$(sum "$2")" "$(sum "$3")"; }
{
  row "one process" run-one.h5 exp-one.h5
  row "mpirun -n 2" run-n2.h5 exp-n2.h5
  row "mpirun -n 3" run-n3.h5 exp-n3.h5
  row "mpirun -n 4" run-n4.h5 exp-n4.h5
  row "3 shards merged" run-merged3.h5 exp-merged3.h5
  row "7 shards merged" run-merged7.h5 exp-merged7.h5
  row "mpirun -n 3, rank 1 killed, resumed at -n 2" run-killed.h5 exp-killed.h5
} | tee table.txt
for col in 3 4; do
  distinct=$(awk -F'|' -v c="$col" '{print $c}' table.txt | tr -d ' ' | sort -u | wc -l)
  expect "column $((col - 2)): one checksum for every way" test "$distinct" = 1
done
exit $fail

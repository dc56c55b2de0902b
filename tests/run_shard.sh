#!/usr/bin/env bash
# `lepsim run --shard K/N` and `lepsim merge` of run shards (docs/cluster.md, "Job arrays"):
# 3 and 7 shards merged give the datasets and attributes of one process (but
# created/git_revision); --shard slurm; a re-run shard replaces only its own file; merge
# refuses missing, duplicate, overlapping and foreign shards (another scenario, seed,
# replication count, block, engine version) and non-shards with exit 5, naming them.
# Needs LEPSIM and SOURCE_DIR.
. "$SOURCE_DIR/tests/shell_lib.sh"
cp "$SOURCE_DIR/scenarios/example.toml" sc.toml
same() { /usr/bin/python3 "$SOURCE_DIR/tests/tools/compare_runs.py" "$1" "$2"; }
run() { "$LEPSIM" run sc.toml -r 30 --block 4 -t 2 "$@"; }  # 8 blocks, the last of 2 replications

check "one process" 0 run -o one.h5
for n in 3 7; do
  for k in $(seq 0 $((n - 1))); do
    check "shard $k/$n" 0 run --shard "$k/$n" -o "s$k-$n.h5"
  done
  grep -qF "wrote shard $((n - 1))/$n to s$((n - 1))-$n.h5: replications [" out.txt || { echo "FAIL: shard message"; cat out.txt; fail=1; }
  # given in reverse order: merge sorts by replications
  check "merge $n shards" 0 "$LEPSIM" merge $(ls -r s*-$n.h5) -o merged-$n.h5
  grep -qF "wrote merged-$n.h5: $n shards merged, 30 replications" out.txt || { echo "FAIL: merge message"; cat out.txt; fail=1; }
  expect "$n shards merged = one process" same one.h5 merged-$n.h5
done
# A second-order run (inputs drawn per replication): merged shards carry its /uncertainty too.
U="$SOURCE_DIR/tests/data/uncertainty/example-with-fitted.toml"
check "second-order, one process" 0 "$LEPSIM" run "$U" -r 12 --block 4 -t 2 -o u1.h5
for k in 0 1 2; do check "second-order shard $k/3" 0 "$LEPSIM" run "$U" -r 12 --block 4 -t 2 --shard "$k/3" -o "u$k-3.h5"; done
check "merge second-order shards" 0 "$LEPSIM" merge u2-3.h5 u0-3.h5 u1-3.h5 -o umerged.h5
expect "second-order: 3 shards merged = one process, /uncertainty included" same u1.h5 umerged.h5
/usr/bin/python3 -c "import h5py, sys; sys.exit(0 if 'uncertainty' in h5py.File('umerged.h5') else 1)" ||
  { echo "FAIL: the merged second-order run has no /uncertainty"; fail=1; }
expect "no temporaries or checkpoints left" bash -c '! ls *.tmp-* *.partial >/dev/null 2>&1'
check "the threads do not change a shard" 0 "$LEPSIM" run sc.toml -r 30 --block 4 -t 1 --shard 1/3 -o t1.h5
expect "shard 1/3 at 1 thread = at 2 threads" same t1.h5 s1-3.h5
check "the default shard name" 0 run --shard 1/3
expect "sc.shard-1-of-3.h5 written" test -s sc.shard-1-of-3.h5
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=3 check "--shard slurm" 0 run --shard slurm -o slurm2.h5
expect "--shard slurm (task 2 of 3) = --shard 2/3" same slurm2.h5 s2-3.h5
check "--shard slurm outside an array is a usage error" 2 env -u SLURM_ARRAY_TASK_ID "$LEPSIM" run sc.toml --shard slurm
check "--shard 3/3 is a usage error" 2 run --shard 3/3 -o bad.h5
check "--shard with --precision is a usage error" 2 "$LEPSIM" run sc.toml --shard 0/2 --precision 0.1 --on completed -o bad.h5
check "--shard with --resume is a usage error" 2 run --shard 0/2 --resume -o bad.h5
expect "nothing written by the refused shards" bash -c '! ls bad.h5* >/dev/null 2>&1'

# The default block (from the scenario, not the threads): shards of it merge too.
check "one process, default block" 0 "$LEPSIM" run sc.toml -r 30 -t 2 -o dflt.h5
for k in 0 1; do check "default block, shard $k/2" 0 "$LEPSIM" run sc.toml -r 30 -t $((k + 1)) --shard "$k/2" -o "d$k.h5"; done
check "merge default-block shards" 0 "$LEPSIM" merge d1.h5 d0.h5 -o dmerged.h5
expect "default block: 2 shards merged = one process" same dflt.h5 dmerged.h5

# More shards than blocks: 3 replications in one block; shards 1/3 and 2/3 are empty.
check "tiny, one process" 0 "$LEPSIM" run sc.toml -r 3 --block 4 -o tiny.h5
for k in 0 1 2; do check "tiny shard $k/3" 0 "$LEPSIM" run sc.toml -r 3 --block 4 --shard "$k/3" -o "tiny$k.h5"; done
grep -qF "replications [3, 3) of 3" out.txt || { echo "FAIL: shard 2/3 of 1 block is not empty"; cat out.txt; fail=1; }
check "merge with empty shards" 0 "$LEPSIM" merge tiny2.h5 tiny0.h5 tiny1.h5 -o tiny-merged.h5
expect "empty shards merged = one process" same tiny.h5 tiny-merged.h5

# A re-run task replaces only its own shard file.
before=$(stat -c %Y.%s s0-3.h5 s2-3.h5)
sleep 1
check "shard 1/3 re-run without --force is refused" 4 run --shard 1/3 -o s1-3.h5
check "shard 1/3 re-run (--force)" 0 run --shard 1/3 -o s1-3.h5 --force
expect "the other shards are untouched" test "$before" = "$(stat -c %Y.%s s0-3.h5 s2-3.h5)"
check "merge after the re-run" 0 "$LEPSIM" merge s0-3.h5 s1-3.h5 s2-3.h5 -o rerun.h5
expect "re-run and merged = one process" same one.h5 rerun.h5

refused() {  # refused DESCRIPTION WANTED-TEXT SHARDS...
  local what=$1 want=$2; shift 2
  check "$what is refused" 5 "$LEPSIM" merge "$@" -o refused.h5
  grep -qF -- "$want" err.txt || { echo "FAIL: '$want' not in:"; cat err.txt; fail=1; }
  expect "$what: nothing written" bash -c '! ls refused.h5* >/dev/null 2>&1'
}
refused "a missing shard" "missing shard: replications 12-23 of 30 are in none of the files given (shard 1/3)" s0-3.h5 s2-3.h5
refused "a missing last shard" "(shard 6/7)" s0-7.h5 s1-7.h5 s2-7.h5 s3-7.h5 s4-7.h5 s5-7.h5
refused "a duplicate shard" "duplicate shard: s1-3.h5 and s1-3.h5 are both shard 1/3" s0-3.h5 s1-3.h5 s1-3.h5 s2-3.h5
refused "overlapping shards" "overlapping shards:" s0-3.h5 s1-7.h5 s2-7.h5 s3-7.h5 s4-7.h5 s5-7.h5 s6-7.h5
check "shard of another seed" 0 run --seed 7 --shard 1/3 -o seed.h5
refused "a shard of another seed" "seed.h5 is foreign: its seed 7 differs" s0-3.h5 seed.h5 s2-3.h5
sed 's/^name = .*/name = "another"/' sc.toml > other.toml
grep -q '^name = "another"' other.toml || { echo "FAIL: the test scenario has no name line"; fail=1; }
check "shard of another scenario" 0 "$LEPSIM" run other.toml -r 30 --block 4 --shard 1/3 -o other.h5
refused "a shard of another scenario" "other.h5 is foreign: it is another scenario ('another'" s0-3.h5 other.h5 s2-3.h5
check "shard with other replications" 0 "$LEPSIM" run sc.toml -r 31 --block 4 --shard 1/3 -o reps.h5
refused "a shard of another replication count" "reps.h5 is foreign: its replication count 31 differs" s0-3.h5 reps.h5 s2-3.h5
check "shard with another block" 0 "$LEPSIM" run sc.toml -r 30 --block 5 --shard 1/3 -o blk.h5
refused "a shard of another block size" "blk.h5 is foreign: its block size 5 differs" s0-3.h5 blk.h5 s2-3.h5
cp s1-3.h5 engine.h5
/usr/bin/python3 -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); f.attrs["engine_version"]="0.0.0-other"' engine.h5
refused "a shard of another engine version" "engine.h5 is foreign: its engine version 0.0.0-other differs" s0-3.h5 engine.h5 s2-3.h5
refused "a run file" "one.h5 is not a lepsim run shard" s0-3.h5 one.h5
refused "a file that does not exist" "shard nowhere.h5 does not exist" s0-3.h5 nowhere.h5
cp s1-3.h5 damaged.h5
/usr/bin/python3 -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); d=f["result_offsets"]; d[-1]=d[-1]+8' damaged.h5
refused "a damaged shard" "damaged.h5 is damaged" s0-3.h5 damaged.h5 s2-3.h5
# A file the scenario inherits changed on disk since the shards ran (the shards hold the
# scenario's own text, not its base's): its results would be mislabelled.
printf 'base = "sc.toml"\n[scenario]\nname = "child"\n' > child.toml
check "child shard 0/2" 0 "$LEPSIM" run child.toml -r 6 --block 4 --shard 0/2 -o c0.h5
check "child shard 1/2" 0 "$LEPSIM" run child.toml -r 6 --block 4 --shard 1/2 -o c1.h5
cp sc.toml sc.toml.orig
sed -i 's/^seed = .*/seed = 4242/' sc.toml
grep -q "^seed = 4242" sc.toml || { echo "FAIL: the test scenario has no seed line"; fail=1; }
refused "shards whose base scenario changed since" "changed on disk since the shards ran" c0.h5 c1.h5
cp sc.toml.orig sc.toml
check "child shards merged once the base is back" 0 "$LEPSIM" merge c0.h5 c1.h5 -o child.h5
check "merge onto an existing file" 4 "$LEPSIM" merge s0-3.h5 s1-3.h5 s2-3.h5 -o one.h5
check "merge --force" 0 "$LEPSIM" merge s0-3.h5 s1-3.h5 s2-3.h5 -o one.h5 --force
expect "merged again = 3 shards merged" same one.h5 merged-3.h5
exit $fail

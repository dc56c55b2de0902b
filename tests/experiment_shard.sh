# `lepsim experiment --shard K/N` and `lepsim merge`: 3 and 7 shards merged give the
# datasets and attributes of one process (but created/git_revision), and merge refuses
# missing, duplicate, overlapping and foreign shards and non-shards (exit 5), naming them.
# Needs LEPSIM and SOURCE_DIR.
. "$SOURCE_DIR/tests/shell_lib.sh"
X=$SOURCE_DIR/scenarios/experiments
cp "$X/policy-grid.toml" grid.toml
sed -i "s|^base = \"\.\./|base = \"$SOURCE_DIR/scenarios/|" grid.toml
same() { /usr/bin/python3 "$SOURCE_DIR/tests/tools/compare_runs.py" "$1" "$2"; }
# 9 points x R replications in blocks of B: 9 x 3 = 27 units (under the sanitizers, 10-30x
# slower, 9 x 2 = 18 units: the same checks on less simulation).
R=5 B=2 U=27
[ -n "${LEPSIM_SANITIZED:-}" ] && R=2 B=1 U=18
run() { "$LEPSIM" experiment grid.toml -r $R --block $B -t 2 "$@"; }

check "one process" 0 run -o one.h5
for n in 3 7; do
  for k in $(seq 0 $((n - 1))); do
    check "shard $k/$n" 0 run --shard "$k/$n" -o "s$k-$n.h5"
  done
  grep -q "wrote shard $((n - 1))/$n to s$((n - 1))-$n.h5: units \[" out.txt || { echo "FAIL: shard message"; cat out.txt; fail=1; }
  # given in reverse order: merge sorts by units
  check "merge $n shards" 0 "$LEPSIM" merge $(ls -r s*-$n.h5) -o merged-$n.h5
  expect "$n shards merged = one process" same one.h5 merged-$n.h5
done
expect "no temporaries or checkpoints left" bash -c '! ls *.tmp-* *.partial >/dev/null 2>&1'
check "the default shard name" 0 run --shard 1/3
expect "grid.shard-1-of-3.h5 written" test -s grid.shard-1-of-3.h5
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=3 check "--shard slurm" 0 run --shard slurm -o slurm2.h5
expect "--shard slurm (task 2 of 3) = --shard 2/3" same slurm2.h5 s2-3.h5
check "--shard slurm outside an array is a usage error" 2 env -u SLURM_ARRAY_TASK_ID "$LEPSIM" experiment grid.toml --shard slurm
check "--shard 3/3 is a usage error" 2 run --shard 3/3 -o bad.h5

# More shards than units: 1 point x 2 replications is one unit; shards 1/3 and 2/3 are empty.
sed -e 's/^levels = \[15, 30, 60\]/levels = [30]/' -e 's/^levels = \[0, 2, 4\]/levels = [2]/' grid.toml > tiny.toml
check "tiny, one process" 0 "$LEPSIM" experiment tiny.toml -r 2 -o tiny.h5
for k in 0 1 2; do check "tiny shard $k/3" 0 "$LEPSIM" experiment tiny.toml -r 2 --shard "$k/3" -o "tiny$k.h5"; done
grep -qF "units [1, 1) of 1" out.txt || { echo "FAIL: shard 2/3 of 1 unit is not empty"; cat out.txt; fail=1; }
check "merge with empty shards" 0 "$LEPSIM" merge tiny2.h5 tiny0.h5 tiny1.h5 -o tiny-merged.h5
expect "empty shards merged = one process" same tiny.h5 tiny-merged.h5
# A re-run task replaces only its own shard file.
before=$(stat -c %Y.%s s0-3.h5 s2-3.h5)
sleep 1
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
refused "a missing shard" "missing shard: units $((U / 3))-$((2 * U / 3 - 1)) of $U are in none of the files given (shard 1/3)" s0-3.h5 s2-3.h5
refused "a missing last shard" "(shard 6/7)" s0-7.h5 s1-7.h5 s2-7.h5 s3-7.h5 s4-7.h5 s5-7.h5
refused "a duplicate shard" "duplicate shard: s1-3.h5 and s1-3.h5 are both shard 1/3" s0-3.h5 s1-3.h5 s1-3.h5 s2-3.h5
refused "overlapping shards" "overlapping shards:" s0-3.h5 s1-7.h5 s2-7.h5 s3-7.h5 s4-7.h5 s5-7.h5 s6-7.h5
sed "s/^seed = .*/seed = 99/" grid.toml > other-seed.toml
grep -q "^seed = 99" other-seed.toml || { echo "FAIL: the test experiment has no seed line"; fail=1; }
check "shard of another seed" 0 "$LEPSIM" experiment other-seed.toml -r $R --block $B --shard 1/3 -o seed.h5 --force
refused "a shard of another experiment (seed in its text)" "seed.h5 is foreign: it is another experiment" s0-3.h5 seed.h5 s2-3.h5
check "shard with other replications" 0 "$LEPSIM" experiment grid.toml -r 4 --block $B --shard 1/3 -o reps.h5
refused "a shard of other replications" "reps.h5 is foreign: its replications per point 4 differs" s0-3.h5 reps.h5 s2-3.h5
check "shard with another block" 0 "$LEPSIM" experiment grid.toml -r $R --block 3 --shard 1/3 -o blk.h5
refused "a shard of another block size" "blk.h5 is foreign: its block size 3 differs" s0-3.h5 blk.h5 s2-3.h5
cp s1-3.h5 engine.h5
/usr/bin/python3 -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); f.attrs["engine_version"]="0.0.0-other"' engine.h5
refused "a shard of another engine version" "engine.h5 is foreign: its engine version 0.0.0-other differs" s0-3.h5 engine.h5 s2-3.h5
cp s1-3.h5 seed2.h5
/usr/bin/python3 -c 'import h5py,sys,numpy; f=h5py.File(sys.argv[1],"r+"); f.attrs["seed"]=numpy.uint64(7)' seed2.h5
refused "a shard of another seed" "seed2.h5 is foreign: its seed 7 differs" s0-3.h5 seed2.h5 s2-3.h5
cp s1-3.h5 base.h5
/usr/bin/python3 -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); f.attrs["base_scenario_digest"]="0123456789abcdef"' base.h5
refused "a shard of another base scenario" "base.h5 is foreign: its base scenario" s0-3.h5 base.h5 s2-3.h5
refused "an experiment file" "one.h5 is not a lepsim experiment shard" s0-3.h5 one.h5
refused "a file that does not exist" "shard nowhere.h5 does not exist" s0-3.h5 nowhere.h5
check "merge without -o" 2 "$LEPSIM" merge s0-3.h5
check "merge onto an existing file" 4 "$LEPSIM" merge s0-3.h5 s1-3.h5 s2-3.h5 -o one.h5
check "merge --force" 0 "$LEPSIM" merge s0-3.h5 s1-3.h5 s2-3.h5 -o one.h5 --force
expect "merged again = one process" same one.h5 merged-3.h5
exit $fail

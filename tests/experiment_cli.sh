# `lepsim experiment` as a user drives it: the three examples at reduced size, validate,
# --plan-only read back, SIGKILL and SIGINT then --resume to the same datasets, the
# file read by h5dump and h5py, summary / export / report. Needs LEPSIM and SOURCE_DIR.
. "$SOURCE_DIR/tests/shell_lib.sh"
X=$SOURCE_DIR/scenarios/experiments

# Same datasets (not attributes: `created` differs), dataset by dataset, through h5dump.
same_datasets() {  # same_datasets A.h5 B.h5
  local d ok=0
  for d in $(h5dump -n "$1" | awk '$1 == "dataset" {print $2}'); do
    if ! cmp -s <(h5dump -d "$d" "$1" | tail -n +3) <(h5dump -d "$d" "$2" | tail -n +3); then
      echo "  differs: $d"; ok=1
    fi
  done
  return $ok
}

for e in policy-grid bsf-lhs run-plan; do
  check "validate $e" 0 "$LEPSIM" validate "$X/$e.toml"
  grep -q "valid experiment" out.txt || { echo "FAIL: validate $e says"; cat out.txt; fail=1; }
done
check "policy grid, 9 points x 3 replications" 0 "$LEPSIM" experiment "$X/policy-grid.toml" -o grid.h5 -r 3 -t 2
check "Latin hypercube, 6 points x 2 replications" 0 "$LEPSIM" experiment "$X/bsf-lhs.toml" -o lhs.h5 --points 6 -r 2 -t 2
check "CSV run plan, 5 points x 2 replications" 0 "$LEPSIM" experiment "$X/run-plan.toml" -o plan.h5 -r 2 -t 2
expect "no temporaries or checkpoints left" bash -c '! ls *.tmp-* *.partial >/dev/null 2>&1'
check "the existing file is refused" 4 "$LEPSIM" experiment "$X/policy-grid.toml" -o grid.h5 -r 3

# Refused before any work, with the estimate: too big for the disk (exit 4), for memory (exit 6).
check "too big for the disk" 4 "$LEPSIM" experiment "$X/policy-grid.toml" -o huge.h5 -r 100000000
grep -q "the experiment needs about" err.txt || { echo "FAIL: no size in the refusal"; cat err.txt; fail=1; }
check "too big for memory" 6 "$LEPSIM" experiment "$X/policy-grid.toml" -o huge.h5 -r 3 -t 1000000
grep -q "not enough memory" err.txt || { echo "FAIL: no memory refusal"; cat err.txt; fail=1; }
expect "nothing written by a refusal" bash -c '! ls huge.h5* >/dev/null 2>&1'

# --plan-only writes the design; a plan experiment reads it back to the same points.
check "--plan-only" 0 "$LEPSIM" experiment "$X/bsf-lhs.toml" --points 6 --plan-only -o lhs-plan.csv
sed -e "s|^design = \"lhs\"|design = \"plan\"\nplan = \"$PWD/lhs-plan.csv\"|" -e '/^points = /d' -e '/^maximin = /d' \
    -e "s|^base = \"../bsf.toml\"|base = \"$SOURCE_DIR/scenarios/bsf.toml\"|" "$X/bsf-lhs.toml" > lhs-as-plan.toml
check "the plan read back runs" 0 "$LEPSIM" experiment lhs-as-plan.toml -o lhs-plan.h5 -r 2 -t 1
expect "same design values from the plan" cmp -s <(h5dump -d /design/values lhs.h5 | tail -n +3) <(h5dump -d /design/values lhs-plan.h5 | tail -n +3)
expect "same metrics from the plan" cmp -s <(h5dump -d /metrics/spend_total lhs.h5 | tail -n +3) <(h5dump -d /metrics/spend_total lhs-plan.h5 | tail -n +3)

# Strict CSV: errors name row and column, all of them; nothing runs.
printf 'point,approvals_capacity,procurement_scale,bogus\n1,30,1,0\n2,,1,0\n2,40,abc,0\n' > bad.csv
sed -e "s|^plan = \"run-plan.csv\"|plan = \"$PWD/bad.csv\"|" -e "s|^base = \"../bsf.toml\"|base = \"$SOURCE_DIR/scenarios/bsf.toml\"|" "$X/run-plan.toml" > bad-plan.toml
check "a bad run plan is refused (exit 3)" 3 "$LEPSIM" validate bad-plan.toml
for want in "bad.csv:1: column 4 (bogus) = bogus: unknown column" "bad.csv:3: column 2 (approvals_capacity): empty cell" \
            "bad.csv:4: column 1 (point) = 2: duplicate point id" "bad.csv:4: column 3 (procurement_scale) = abc: not a number" "4 problems found"; do
  grep -qF "$want" err.txt || { echo "FAIL: no '$want' in"; cat err.txt; fail=1; }
done

# Interrupted runs resume to the same datasets as an uninterrupted one. Each is stopped once
# its checkpoint holds some blocks (waiting up to 2 minutes: sanitized builds are slow).
# R replications a point in blocks of B: under the sanitizers (20-30x slower) fewer, in
# smaller blocks, so the run still outlasts its first checkpoints by far.
R=12 B=4
[ -n "${LEPSIM_SANITIZED:-}" ] && R=4 B=1
"$LEPSIM" experiment "$X/policy-grid.toml" -o ref.h5 -r $R -t 2 --block $B >/dev/null 2>&1
"$LEPSIM" experiment "$X/policy-grid.toml" -o killed.h5 -r $R -t 2 --block $B >/dev/null 2>&1 &
pid=$!
wait_for_size killed.h5.partial 20000 $pid
kill -KILL $pid; wait $pid 2>/dev/null
expect "SIGKILL: no file under the final name" test ! -e killed.h5
expect "SIGKILL: a checkpoint is left" test -s killed.h5.partial
check "without --resume the checkpoint is not overwritten" 4 "$LEPSIM" experiment "$X/policy-grid.toml" -o killed.h5 -r $R --block $B
check "--resume after SIGKILL" 0 "$LEPSIM" experiment "$X/policy-grid.toml" -o killed.h5 -r $R -t 1 --block $B --resume
grep -q "resuming from" err.txt || { echo "FAIL: resume did not say what it found"; cat err.txt; fail=1; }
resumed=$(sed -n 's/.*(\([0-9]*\) replications resumed.*/\1/p' out.txt)
expect "SIGKILL struck mid-run (${resumed:-0} of $((9 * R)) replications were checkpointed)" test "${resumed:-0}" -gt 0 -a "${resumed:-0}" -lt $((9 * R))
expect "SIGKILL + --resume: same datasets" same_datasets ref.h5 killed.h5

"$LEPSIM" experiment "$X/policy-grid.toml" -o stopped.h5 -r $R -t 2 --block $B >/dev/null 2>err-int.txt &
pid=$!
wait_for_size stopped.h5.partial 20000 $pid
kill -INT $pid; wait $pid; rc=$?
expect "SIGINT: exit 130 (got $rc)" test "$rc" = 130
expect "SIGINT: says how to resume" grep -q -- "--resume" err-int.txt
expect "SIGINT: no file, no temporary" bash -c '! ls stopped.h5 stopped.h5.tmp-* >/dev/null 2>&1'
check "--resume after SIGINT" 0 "$LEPSIM" experiment "$X/policy-grid.toml" -o stopped.h5 -r $R -t 2 --block $B --resume
expect "SIGINT + --resume: same datasets" same_datasets ref.h5 stopped.h5

# Read by h5dump and h5py; summary, export, report.
check "h5dump reads the file" 0 h5dump -H grid.h5
grep -q 'DATASET "completed_cumulative@60"' out.txt || { echo "FAIL: h5dump does not show the metrics"; fail=1; }
check "h5py reads the file" 0 /usr/bin/python3 -c '
import h5py
f = h5py.File("grid.h5", "r")
assert f.attrs["file_type"] == "lepsim-experiment", f.attrs["file_type"]
assert list(f.attrs["format_version"]) == [1, 2]
P, R = int(f.attrs["points"]), int(f.attrs["replications"])
assert f["design/values"].shape == (P, 2) and f["metrics/completed"].shape == (P, R), (P, R)
assert list(f["design/factor_names"].asstr()[:]) == ["approvals_capacity", "mandated_practices"]
assert f["series/completed_cumulative/mean"].shape == (P, int(f.attrs["steps"]))
assert "national.approvals.capacity = 15" in f["design/overrides"].asstr()[0]
print("h5py ok", P, R)'
check "summary" 0 "$LEPSIM" summary grid.h5
grep -q "approvals_capacity" out.txt && grep -q "completed_cumulative@60" out.txt || { echo "FAIL: summary table"; cat out.txt; fail=1; }
check "export" 0 "$LEPSIM" export grid.h5 --to csv
check "the tidy CSV: one row per point, read by pandas" 0 /usr/bin/python3 -c '
import csv
rows = list(csv.DictReader(open("csv/points.csv")))
assert len(rows) == 9, len(rows)
assert float(rows[0]["approvals_capacity"]) == 15 and "completed_cumulative_at_60_ci_low" in rows[0]
try:
    import pandas as pd
    assert pd.read_csv("csv/points.csv").shape[0] == 9
except ImportError:
    pass'
check "report" 0 "$LEPSIM" report grid.h5 -o grid.html
# 5 metrics x 2 factors; finish_month has no value (no replication finishes by the horizon).
expect "the report charts each metric against each factor" test "$(grep -o '<svg' grid.html | wc -l)" -eq 8
exit $fail

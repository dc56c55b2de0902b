#!/usr/bin/env bash
# The command line as a user drives it: help, validate, run, exit codes, and the
# run file read by h5dump and by Debian's h5py. Needs LEPSIM and SOURCE_DIR.
source "$SOURCE_DIR/tests/shell_lib.sh"

check "--help" 0 "$LEPSIM" --help
grep -q "lepsim run SCENARIO" out.txt || { echo "FAIL: --help lacks usage"; fail=1; }
check "no arguments is a usage error" 2 "$LEPSIM"
check "--version" 0 "$LEPSIM" --version
grep -q "^lepsim [0-9]" out.txt || { echo "FAIL: --version output"; fail=1; }
check "run --help" 0 "$LEPSIM" run --help
grep -q "Examples" out.txt || { echo "FAIL: run --help lacks examples"; fail=1; }
check "unknown command" 2 "$LEPSIM" frobnicate
check "unknown option" 2 "$LEPSIM" run "$SOURCE_DIR/scenarios/example.toml" --frobnicate

check "validate bsf" 0 "$LEPSIM" validate "$SOURCE_DIR/scenarios/bsf.toml"
check "validate example" 0 "$LEPSIM" validate "$SOURCE_DIR/scenarios/example.toml"
printf '[scenario]\nname = "x"\n[time]\nstart = "2005-04"\nstep_months = 0\nhorizon_months = 120\n' > bad.toml
check "validate a bad scenario" 3 "$LEPSIM" validate bad.toml
grep -q "bad.toml:5: time.step_months = 0: must be > 0" err.txt || { echo "FAIL: located message missing"; cat err.txt; fail=1; }
[ -s out.txt ] && { echo "FAIL: errors must not go to stdout"; fail=1; }
check "run a missing scenario" 3 "$LEPSIM" run nowhere.toml

check "run example" 0 "$LEPSIM" run "$SOURCE_DIR/scenarios/example.toml" -o ex.h5 -r 20 -t 2
grep -q "wrote ex.h5" out.txt || { echo "FAIL: no summary printed"; fail=1; }
[ -f ex.h5 ] || { echo "FAIL: ex.h5 not written"; fail=1; }
expect "no temporary left behind" no_temporaries .
check "refuse to overwrite" 4 "$LEPSIM" run "$SOURCE_DIR/scenarios/example.toml" -o ex.h5 -r 5
check "overwrite with --force" 0 "$LEPSIM" run "$SOURCE_DIR/scenarios/example.toml" -o ex.h5 -r 20 -t 1 --force
check "unwritable directory" 4 "$LEPSIM" run "$SOURCE_DIR/scenarios/example.toml" -o no/such/dir/x.h5 -r 2

check "h5dump reads the file" 0 h5dump -H ex.h5
grep -q 'DATASET "stage_active"' out.txt || { echo "FAIL: h5dump does not show series"; fail=1; }

if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
  check "h5py reads the file" 0 /usr/bin/python3 -c '
import h5py, numpy as np
f = h5py.File("ex.h5", "r")
assert f.attrs["file_type"] == "lepsim-run", f.attrs["file_type"]
assert list(f.attrs["format_version"]) == [1, 4]  # format 1.4: exact stage times, stream layout 2, /uncertainty, the [milestones] series
assert f["scenario"].attrs["lever_cost_once"] == 0  # format 1.2: example.toml states no lever cost
assert f.attrs["allocation"] == "pipeline-priority", f.attrs["allocation"]  # format 1.3
assert int(f.attrs["random_stream_layout"]) == 2, f.attrs["random_stream_layout"]  # format 1.4
assert "plan" not in f["scenario"]  # example.toml states no plan (format 1.1 writes one only when stated)
assert f.attrs["replications"] == 20
s = f["series/project_state"][:]
R, T, _ = s.shape
assert (s.sum(axis=2) == f["replications/projects"][:][:, None]).all(), "conservation"
assert "procurement" in list(f["dimensions/stages"].asstr()[:])
m = f["summary/completed_cumulative/mean"][:]
assert np.allclose(m, f["series/completed_cumulative"][:].mean(axis=0))
assert "[scenario]" in f["scenario/text"].asstr()[()]
print("h5py ok:", R, "replications,", T, "steps")
'
else
  echo "FAIL: /usr/bin/python3 has no h5py (install python3-h5py)"; fail=1
fi

# Same seed, same bits from the command line, whatever the thread count.
"$LEPSIM" run "$SOURCE_DIR/scenarios/example.toml" -o a.h5 -r 30 -t 1 >/dev/null
"$LEPSIM" run "$SOURCE_DIR/scenarios/example.toml" -o b.h5 -r 30 -t 2 >/dev/null
for d in series/stage_active series/utilisation projects/completion_step summary/stage_queued/p90; do
  if ! cmp -s <(h5dump -d "/$d" a.h5 | tail -n +3) <(h5dump -d "/$d" b.h5 | tail -n +3); then
    echo "FAIL: /$d differs between 1 and 2 threads"; fail=1
  fi
done
# lepsim size (docs/sizing.md): 12 projects of 6 months by month 24 need exactly 3 FTE.
sizing_scenario sz.toml
check "size needs --by" 2 "$LEPSIM" size sz.toml -o plan.toml
check "size: unreachable within the bounds" 7 "$LEPSIM" size sz.toml --by 24 --max staff=2 -o plan.toml --search-replications 20
[ -f plan.toml ] && { echo "FAIL: a refused size wrote a plan"; fail=1; }
grep -q "no plan within the bounds" err.txt || { echo "FAIL: refusal message"; cat err.txt; fail=1; }
check "size: deterministic answer" 0 "$LEPSIM" size sz.toml --by 24 -o plan.toml --search-replications 20 --certify-replications 50 --json
/usr/bin/python3 -c 'import json,sys; j=json.load(open("out.txt")); assert j["certificate"]["fte"]==[3.0] and j["certified"], j; n=j["neighbours"][0]; assert n["shown_short"] and not n["undecided"] and j["selection"]["seed"]!=j["certificate"]["seed"], j' \
  || { echo "FAIL: size --json answer"; fail=1; }
[ -f plan.trace.csv ] || { echo "FAIL: no search trace"; fail=1; }
check "size: cap below the first size" 2 "$LEPSIM" size sz.toml --by 24 -o plan2.toml --certify-replications 50 --max-certify-replications 40
check "run the sized plan" 0 "$LEPSIM" run plan.toml -o plan.h5 -r 5

[ $fail = 0 ] && echo "cli end to end: all passed"
exit $fail

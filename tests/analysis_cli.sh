#!/usr/bin/env bash
# The analysis commands as a user drives them: summary (text, csv, json), compare with
# common random numbers, export, convergence runs, and refusals of files they cannot read.
# Needs LEPSIM and SOURCE_DIR; reads JSON and HDF5 with Debian's /usr/bin/python3.
source "$SOURCE_DIR/tests/shell_lib.sh"
ex="$SOURCE_DIR/scenarios/example.toml"

check "run A" 0 "$LEPSIM" run "$ex" -o a.h5 -r 40 -t 2
check "run A again, other threads" 0 "$LEPSIM" run "$ex" -o a2.h5 -r 40 -t 1
check "run with another seed" 0 "$LEPSIM" run "$ex" -o b.h5 -r 40 --seed 99

for cmd in summary report compare export; do
  check "$cmd --help" 0 "$LEPSIM" $cmd --help
  expect "$cmd --help has examples" grep -q "Example" out.txt
done

check "summary" 0 "$LEPSIM" summary a.h5
expect "summary states the confidence level" grep -q "95% confidence" out.txt
expect "summary has year-5 and year-10 completions" grep -q "schools completed by month 120" out.txt
check "summary csv" 0 "$LEPSIM" summary a.h5 --format csv --target 20:120
expect "csv header" grep -q "^key,label,unit,kind,level,n,estimate,lo,hi,p10" out.txt
expect "csv has the target" grep -q "^target_1," out.txt
check "summary json" 0 "$LEPSIM" summary a.h5 --format json --level 0.9
expect "json parses, level 0.9, intervals around estimates" /usr/bin/python3 -c '
import json, math
d = json.load(open("out.txt"))
assert d["level"] == 0.9 and d["run"]["replications"] == 40
for f in d["figures"]:
    if f["estimate"] is not None and f["lo"] is not None and f["hi"] is not None:
        assert f["lo"] <= f["estimate"] <= f["hi"], f
'
check "summary with a bad --level" 2 "$LEPSIM" summary a.h5 --level 95
check "summary with a bad --target" 2 "$LEPSIM" summary a.h5 --target 500
check "summary with a bad --format" 2 "$LEPSIM" summary a.h5 --format xml

check "compare the same seed and scenario" 0 "$LEPSIM" compare a.h5 a2.h5 --format csv
expect "every difference is zero with a zero-width interval" /usr/bin/python3 -c '
import csv
rows = [r for r in csv.DictReader(open("out.txt")) if r["run"] == "1"]
assert rows
for r in rows:
    if r["defined"] == "0":  # e.g. extra cost per extra school with no extra school: no value
        assert r["difference"] == "", r
        continue
    assert float(r["difference"]) == 0, r
    assert r["p_better"] in ("", "0"), r  # never better than itself
    assert r["paired"] == "1"
    if r["difference_lo"] not in ("", "inf", "-inf"):
        assert float(r["difference_lo"]) == 0 and float(r["difference_hi"]) == 0, r
'
check "compare independent runs" 0 "$LEPSIM" compare a.h5 b.h5
expect "independent runs are said to be independent" grep -q "independent of \[A\]" out.txt
check "compare needs two files" 2 "$LEPSIM" compare a.h5

# A file from a newer format and a truncated file: refused, named, nothing on stdout.
cp a.h5 newer.h5
/usr/bin/python3 -c '
import h5py, numpy as np
with h5py.File("newer.h5", "r+") as f:
    f.attrs["format_version"] = np.array([2, 0], dtype=np.int32)
'
check "compare refuses a newer format" 5 "$LEPSIM" compare a.h5 newer.h5
expect "the newer file is named" grep -q "newer.h5" err.txt
expect "nothing on stdout" test ! -s out.txt
head -c 20000 a.h5 > truncated.h5
for cmd in "summary" "report -o t.html" "export --to csvdir" "info"; do
  check "$cmd refuses a truncated file" 5 "$LEPSIM" $cmd truncated.h5
  expect "$cmd names the file" grep -q "truncated.h5" err.txt
  expect "$cmd prints nothing on stdout" test ! -s out.txt
done
expect "no report was written for a truncated file" test ! -e t.html

check "report" 0 "$LEPSIM" report a.h5 -o a.html
expect "the report is one self-contained page" grep -q '<svg id="fan-completions"' a.html
check "report refuses to overwrite" 4 "$LEPSIM" report a.h5 -o a.html
check "report --force" 0 "$LEPSIM" report a.h5 -o a.html --force
check "report into a missing directory" 4 "$LEPSIM" report a.h5 -o no/such/dir/a.html
expect "the message names the file" grep -q "no/such/dir/a.html" err.txt
expect "no temporary is left behind" test -z "$(ls | grep -F .tmp-)"

check "export" 0 "$LEPSIM" export a.h5 --to csv
expect "replications.csv has a row per replication" test "$(wc -l < csv/replications.csv)" = 41
expect "series CSV in snake_case with month_end" grep -qx "replication,step,month_end,completed_cumulative" csv/series/completed_cumulative.csv
expect "units in the data dictionary" grep -q "^series/completed_cumulative.csv,completed_cumulative,projects," csv/data-dictionary.csv
check "export --outputs with an unknown name" 2 "$LEPSIM" export a.h5 --to csv2 --outputs completed_cumulative,schools
expect "the unknown name is named" grep -q "unknown output .schools." err.txt
check "export refuses to overwrite" 4 "$LEPSIM" export a.h5 --to csv
check "export --force" 0 "$LEPSIM" export a.h5 --to csv --force

check "convergence run" 0 "$LEPSIM" run "$ex" -o conv.h5 --precision 0.05 --on completed --check-every 20 --max-replications 400
expect "the outcome is printed" grep -q "precision 0.05 on completed" out.txt
expect "the rule is in the file" /usr/bin/python3 -c '
import h5py
f = h5py.File("conv.h5", "r")
assert f.attrs["convergence_met"] in (0, 1)
assert f.attrs["replications"] % 20 == 0 or f.attrs["replications"] == 400
assert f["replications/completed"].shape[0] == f.attrs["replications"]
'
check "convergence with an unknown output" 2 "$LEPSIM" run "$ex" -o conv2.h5 --precision 0.05 --on schools
expect "the valid outputs are listed" grep -q "choose from: completed" err.txt
check "--on without --precision" 2 "$LEPSIM" run "$ex" -o conv3.h5 --on completed

# The small things of issue 18: help pages, the exit codes, plurals, hints.
for cmd in run validate info summary report compare export; do
  check "$cmd --help" 0 "$LEPSIM" $cmd --help
  expect "$cmd --help: 'Options:' on its own line, then the options" grep -qx "Options:" out.txt
  expect "$cmd --help: no 'Options  -o' run-on" sh -c '! grep -q "^Options *-" out.txt'
done
check "top-level help" 0 "$LEPSIM" --help
expect "every exit code is listed, 6 included" grep -q "6 not enough memory" out.txt
for cmd in run validate info summary report compare export; do
  expect "top-level help lists $cmd" grep -q "^  lepsim $cmd " out.txt
done
check "validate" 0 "$LEPSIM" validate "$ex"
expect "one-month steps read '1 month', not '1 months'" grep -q "steps of 1 month$" out.txt
sed 's/^start *= *"\([0-9]*\)-\([0-9]*\)"/start = \1-\2-01/' "$ex" > date.toml
expect "date.toml has a bare TOML date" grep -q "^start = [0-9]*-[0-9]*-01" date.toml
check "a bare TOML date is refused" 3 "$LEPSIM" validate date.toml
expect "  with the way to write it" grep -q 'e.g. "2009-04"' err.txt
sed '0,/dist = "[a-z]*"/s//dist = "PERT"/' "$ex" > pert.toml
expect "pert.toml names PERT" grep -q 'dist = "PERT"' pert.toml
check "dist = PERT is refused" 3 "$LEPSIM" validate pert.toml
expect "  with a suggestion" grep -q "did you mean 'pert'" err.txt

check "compare, text" 0 "$LEPSIM" compare a.h5 a2.h5 b.h5
expect "compare: within 100 columns" test "$(wc -L < out.txt)" -le 100
expect "compare: paired runs say over how many replications" grep -q "paired with \[A\] over 40 replications" out.txt
expect "compare: per-replication spread and P(better)" grep -q "per replication B - A: P10" out.txt
expect "compare: P(B better)" grep -q "P(B better)" out.txt
check "compare json" 0 "$LEPSIM" compare a.h5 a2.h5 b.h5 --format json
expect "json: every figure with spread and P(better)" /usr/bin/python3 -c '
import json
d = json.load(open("out.txt"))
assert d["pairing"][0] == {"paired": True, "pairs": 40}, d["pairing"]
for f in d["figures"]:
    assert len(f["estimates"]) == 3 and len(f["differences"]) == 2, f["key"]
    assert "spread" in f["differences"][0] and "p_better" in f["differences"][0]
'
check "report of several runs: the comparison page" 0 "$LEPSIM" report a.h5 a2.h5 b.h5 -o cmp.html
expect "the comparison page has its charts" grep -q '<svg id="cmp-s-curve"' cmp.html

# Second-order Monte Carlo (docs/calibration.md, "Runs that carry the whole uncertainty").
cat > unc.toml <<EOF2
base = "$ex"
[scenario]
name = "example-uncertain"
[uncertainty]
draw = "inputs"
replications_per_draw = 2
[[uncertainty.input]]
path = "stages.procurement.work"
mode = "scale"
distribution = { dist = "pert", min = 0.8, mode = 1.0, max = 1.5 }
EOF2
check "run drawing its inputs" 0 "$LEPSIM" run unc.toml -o u.h5 -r 40 -t 2
check "summary of a second-order run" 0 "$LEPSIM" summary u.h5
expect "summary labels total and chance-only intervals" grep -q "total P10 - P90.*chance-only P10 - P90" out.txt
expect "summary says the inputs were drawn" grep -q "inputs drawn (second-order Monte Carlo)" out.txt
check "summary of a first-order run says its spread is chance only" 0 "$LEPSIM" summary a.h5
expect "first-order: chance only" grep -q "every P10-P90 is chance only" out.txt
check "--uncertainty off" 0 "$LEPSIM" run unc.toml --uncertainty off -o uoff.h5 -r 40 -t 2
expect "off writes no /uncertainty" /usr/bin/python3 -c 'import h5py; assert "uncertainty" not in h5py.File("uoff.h5")'
check "--uncertainty with a bad value" 2 "$LEPSIM" run unc.toml --uncertainty all -o ubad.h5 -r 4
check "--uncertainty posterior without a posterior file" 2 "$LEPSIM" run unc.toml --uncertainty posterior -o ubad.h5 -r 4
check "compare under common draws" 0 "$LEPSIM" compare u.h5 u.h5
expect "compare says the draws are common" grep -q "under common draws" out.txt
check "summary --observed" 0 "$LEPSIM" summary a.h5 --observed "$SOURCE_DIR/tests/data/uncertainty/example-record.toml"
expect "--observed lists the milestones not expressible" grep -q "not expressible" out.txt
check "summary --observed csv" 0 "$LEPSIM" summary a.h5 --observed "$SOURCE_DIR/tests/data/uncertainty/example-record.toml" --format csv
expect "--observed csv header" grep -q "^id,metric,use,evidence,month,observed,sd,expressible" out.txt
check "summary --observed json refused" 2 "$LEPSIM" summary a.h5 --observed "$SOURCE_DIR/tests/data/uncertainty/example-record.toml" --format json
check "summary --observed with a bad record" 3 "$LEPSIM" summary a.h5 --observed unc.toml

exit $fail

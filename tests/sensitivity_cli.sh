#!/usr/bin/env bash
# lepsim sensitivity as a user runs it: a small Morris and a small Saltelli experiment on
# the example scenario, ranked tables and JSON, the indices stored in the experiment file
# (read with h5py), summary and report of the file, and the refusals.
. "$(dirname "$0")/shell_lib.sh"
ex="$SOURCE_DIR/scenarios/example.toml"
factors='
[[factor]]
name = "approvals"
path = "national.approvals.capacity"
range = [1, 4]
[[factor]]
name = "procurement"
path = "stages.procurement.work"
scale = true
range = [0.6, 1.4]
[[factor]]
name = "construction"
path = "stages.construction.work"
scale = true
range = [0.9, 1.1]
[output]
metrics = ["completed_cumulative@60", "completed"]
series = ["completed_cumulative"]'
printf '[experiment]\nbase = "%s"\ndesign = "morris"\ntrajectories = 6\nreplications = 8\nseed = 5\n%s\n' "$ex" "$factors" > morris.toml
printf '[experiment]\nbase = "%s"\ndesign = "saltelli"\nbase_rows = 16\nreplications = 4\nseed = 5\n%s\n' "$ex" "$factors" > sobol.toml
printf '[experiment]\nbase = "%s"\ndesign = "one_at_a_time"\nreplications = 10\nseed = 5\n%s\n' "$ex" "$factors" > oat.toml
printf '[experiment]\nbase = "%s"\ndesign = "lhs"\npoints = 4\nreplications = 2\n%s\n' "$ex" "$factors" > lhs.toml

check "morris experiment" 0 "$LEPSIM" experiment morris.toml -o morris.h5 --threads 2
check "sensitivity --json --metric" 0 "$LEPSIM" sensitivity morris.h5 --json --metric completed_cumulative@60
/usr/bin/python3 - <<'PY' || fail=1
import json
d = json.load(open("out.txt"))
assert d["design"] == "morris" and d["resamples"] == 1000, d
assert [m["metric"] for m in d["metrics"]] == ["completed_cumulative@60"]
m = d["metrics"][0]
assert m["method"] == "morris" and len(m["columns"]) == 3
mus = {c["name"]: c["mu_star"] for c in m["columns"]}
# procurement's range moves completions by year 5 far more than construction's +-10%
assert mus["procurement"][0] > mus["construction"][0], mus
assert m["ranking"][0] != "construction"
for c in m["columns"]:
    v, lo, hi = c["mu_star"]
    assert lo <= v <= hi, c
print("ok: JSON Morris results")
PY
check "sensitivity (text)" 0 "$LEPSIM" sensitivity morris.h5
expect "text: Morris table ranked by mu*" grep -q "Morris elementary effects" out.txt
expect "text: rank column and intervals" grep -Eq "^ +1 +(approvals|procurement|construction) +-?[0-9.]+ \[" out.txt
expect "text: indices over time" grep -q "completed_cumulative over time" out.txt
cp out.txt morris_text.txt
/usr/bin/python3 - <<'PY' || fail=1
import h5py
f = h5py.File("morris.h5", "r")
assert f["design/role"].asstr()[0] == "morris_start", f["design/role"].asstr()[:3]
g = f["sensitivity/metrics/completed_cumulative@60"]
assert g.attrs["method"] == "morris"
assert list(g["columns"].asstr()[:]) == ["approvals", "procurement", "construction"]
assert g["mu_star"].shape == (3, 3)
s = f["sensitivity/series/completed_cumulative"]
assert s["mu_star"].shape[1:] == (3, 3) and s["months"].shape[0] == s["mu_star"].shape[0]
assert f["sensitivity"].attrs["resamples"] == 1000
print("ok: indices stored in the experiment file (h5py)")
PY
check "summary of the experiment prints the stored ranking" 0 "$LEPSIM" summary morris.h5
expect "summary ends with sensitivity's tables" bash -c 'tail -n "$(wc -l < morris_text.txt)" out.txt | cmp -s - morris_text.txt'
check "summary --format json gives the stored indices" 0 "$LEPSIM" summary morris.h5 --format json
expect "summary JSON = the indices" grep -q '"method": "morris"' out.txt
check "report draws the charts" 0 "$LEPSIM" report morris.h5 -o morris.html
expect "report has SVG bars" grep -q "<svg class=\"sens\"" morris.html

check "saltelli experiment" 0 "$LEPSIM" experiment sobol.toml -o sobol.h5 --threads 2
check "sensitivity of a Saltelli design" 0 "$LEPSIM" sensitivity sobol.h5 --json --no-series
/usr/bin/python3 - <<'PY' || fail=1
import json
m = json.load(open("out.txt"))["metrics"][0]
assert m["method"] == "sobol"
assert [c["name"] for c in m["columns"]] == ["approvals", "procurement", "construction", "noise"]
for c in m["columns"]:
    for k in ("first", "total", "first_mean", "total_mean"):
        assert len(c[k]) == 3
assert "aleatory" in m and "max_change" in m
print("ok: JSON Sobol' results with the noise column")
PY
check "report of the Saltelli file" 0 "$LEPSIM" report sobol.h5 -o sobol.html
expect "tornado-free Sobol' bars" grep -q "<title>" sobol.html

check "one-at-a-time experiment" 0 "$LEPSIM" experiment oat.toml -o oat.h5
check "swings of a one-at-a-time design" 0 "$LEPSIM" sensitivity oat.h5 --json
/usr/bin/python3 - <<'PY' || fail=1
import json
d = json.load(open("out.txt"))
m = d["metrics"][0]
assert m["method"] == "oat" and d["series"] == [], d["series"]
for c in m["columns"]:
    lo, hi, sw = c["low"], c["high"], c["swing"]
    assert abs(sw[0] - (hi[0] - lo[0])) < 1e-9 and sw[1] <= sw[0] <= sw[2], c
print("ok: JSON swings (high - low = swing, intervals around it)")
PY
check "report of the one-at-a-time file: a tornado" 0 "$LEPSIM" report oat.h5 -o oat.html
expect "tornado drawn" grep -q "one-at-a-time swings" oat.html

check "lhs experiment" 0 "$LEPSIM" experiment lhs.toml -o lhs.h5
check "a design without indices is refused" 2 "$LEPSIM" sensitivity lhs.h5
expect "the refusal names the designs" grep -q "saltelli" err.txt
check "an unknown metric is refused" 2 "$LEPSIM" sensitivity morris.h5 --metric nope
check "a missing file is refused" 2 "$LEPSIM" sensitivity missing.h5
exit $fail

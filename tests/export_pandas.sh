#!/usr/bin/env bash
# The export as a pandas user meets it (issue 18, point 5): loaded with read_csv and no
# renaming, it gives the figures `lepsim summary` prints; every column is in the data
# dictionary; month_end == 60 is "by month 60", also with quarterly steps. Needs Debian's
# python3-pandas (.ci/install-deps).
source "$SOURCE_DIR/tests/shell_lib.sh"

/usr/bin/python3 -c "import pandas" || { echo "FAIL: python3-pandas is not installed (.ci/install-deps)"; exit 1; }

# authority-capacity has partnering, disputes and capacity (spend); the quarterly variant
# checks month_end with step_months = 3.
cat > quarterly.toml <<EOF
base = "$SOURCE_DIR/scenarios/authority-capacity.toml"
[scenario]
name = "authority-capacity-quarterly"
[time]
step_months = 3
EOF

for case in monthly quarterly; do
  scenario="$SOURCE_DIR/scenarios/authority-capacity.toml"
  [ "$case" = quarterly ] && scenario=quarterly.toml
  check "$case: run" 0 "$LEPSIM" run "$scenario" -o "$case.h5" -r 30 -t 2
  check "$case: summary as JSON" 0 "$LEPSIM" summary "$case.h5" --format json
  cp out.txt "$case.json"
  check "$case: export" 0 "$LEPSIM" export "$case.h5" --to "$case-csv"
  check "$case: pandas reads the export and gets the summary's figures" 0 /usr/bin/python3 - "$case-csv" "$case.json" <<'EOF'
import json, math, os, sys
import numpy as np
import pandas as pd

csv, summary = sys.argv[1], json.load(open(sys.argv[2]))
fig = {f["key"]: f["estimate"] for f in summary["figures"]}

def same(key, value):
    want = fig[key]
    ok = (want is None and (value is None or math.isinf(value))) or (
        want is not None and math.isclose(value, want, rel_tol=1e-12, abs_tol=1e-12))
    print(f"{key}: export {value!r}, summary {want!r}")
    assert ok, key

reps = pd.read_csv(os.path.join(csv, "replications.csv"))
cum = pd.read_csv(os.path.join(csv, "series", "completed_cumulative.csv"))
# "By month 60" is the row month_end == 60, whatever step_months.
same("completed_month60", cum.loc[cum.month_end == 60, "completed_cumulative"].mean())
same("completed_month120", cum.loc[cum.month_end == 120, "completed_cumulative"].mean())
horizon = cum.month_end.max()
assert (cum.loc[cum.month_end == horizon].set_index("replication").completed_cumulative
        == reps.set_index("replication").completed).all()
# Programme finish: empty finish_month = after the horizon (+inf, as summary counts it).
def type7(x, p):  # numpy's default percentile, with +inf kept as +inf
    x = np.sort(x); h = (len(x) - 1) * p / 100; lo = math.floor(h); hi = min(lo + 1, len(x) - 1)
    return x[lo] if x[lo] == x[hi] else x[lo] + (h - lo) * (x[hi] - x[lo])
finish = reps.finish_month.fillna(np.inf).to_numpy()
same("finish_p50", type7(finish, 50))
same("finish_p80", type7(finish, 80))
same("finish_within_horizon", reps.finish_month.notna().mean())
spend = pd.read_csv(os.path.join(csv, "series", "spend.csv"))
same("spend_total", spend[["spend_capital", "spend_lep_setup", "spend_capacity"]].sum(axis=1).groupby(spend.replication).sum().mean())
health = pd.read_csv(os.path.join(csv, "series", "health.csv"))
same("health_final", health.loc[health.month_end == horizon, "health_mean"].mean())
leps = pd.read_csv(os.path.join(csv, "leps.csv"))
same("disputes", leps.groupby("replication").disputes.sum().mean())
same("leps_formed", pd.read_csv(os.path.join(csv, "series", "leps_formed.csv")).query("month_end == @horizon").leps_formed.mean())

# Every column of every file is in the dictionary, with no units left in the names.
dictionary = pd.read_csv(os.path.join(csv, "data-dictionary.csv"))
assert list(dictionary.columns) == ["file", "column", "unit", "description"]
for root, _, files in os.walk(csv):
    for name in files:
        rel = os.path.relpath(os.path.join(root, name), csv)
        if rel == "data-dictionary.csv":
            continue
        cols = pd.read_csv(os.path.join(csv, rel), nrows=0).columns
        known = set(dictionary.loc[dictionary.file == rel, "column"])
        assert set(cols) == known, (rel, set(cols) ^ known)
        for c in cols:
            assert c == c.lower() and " " not in c and "(" not in c, (rel, c)
print("ok")
EOF
done
expect "quarterly: month_end steps by 3" /usr/bin/python3 -c '
import pandas as pd
m = pd.read_csv("quarterly-csv/series/completions.csv").month_end.unique()
assert m[0] == 3 and m[1] == 6, m[:3]'

exit $fail

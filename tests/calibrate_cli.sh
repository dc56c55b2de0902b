# `lepsim calibrate` as a user runs it (docs/calibration.md, "The calibrate command"): a small
# calibration of example.toml, the posterior read by h5py, the report and the fitted file,
# --check, SIGKILL and SIGINT mid-run then --resume to the same file (bit for bit but
# `created`), refusals and located errors with their exit codes. Needs LEPSIM and SOURCE_DIR.
. "$SOURCE_DIR/tests/shell_lib.sh"
cal=$SOURCE_DIR/tests/data/calibrate-example.toml
py=/usr/bin/python3
# Particles and history-matching points of the calibration (and its budget). Under the
# sanitizers a smaller one: the same file, lines and checks (shell_lib.sh's example_calibration).
P=300 N=60 stale_budget=2000
if [ -n "${LEPSIM_SANITIZED:-}" ]; then
  P=60 N=20 stale_budget=1000
  cal=$(example_calibration small "s/^particles = 300/particles = $P/" "s/^points_per_wave = 60/points_per_wave = $N/" \
        "s/^budget = 12000/budget = 1500/")
fi
# Every dataset and attribute of two posterior files equal, bit for bit, except `created`.
same_posterior() {
  $py - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
bad = []
def attrs(x, y, name):
    if sorted(x.attrs) != sorted(y.attrs): bad.append(name + " attribute names")
    for k in x.attrs:
        if k != "created" and not np.array_equal(np.asarray(x.attrs[k]), np.asarray(y.attrs.get(k))): bad.append(name + "@" + k)
def walk(name, x):
    y = b.get(name)
    if y is None: bad.append(name + " missing"); return
    attrs(x, y, name)
    if isinstance(x, h5py.Dataset):
        u, v = np.asarray(x[()]), np.asarray(y[()])
        if u.dtype.kind == "f": u, v = u.view(np.uint64 if u.itemsize == 8 else np.uint32), v.view(np.uint64 if v.itemsize == 8 else np.uint32)
        if not np.array_equal(u, v): bad.append(name)
a.visititems(walk); attrs(a, b, "/")
names = set(); b.visit(names.add); a.visit(names.discard)
bad += [n + " only in the second" for n in names]
print("differences:", bad or "none"); sys.exit(1 if bad else 0)
PY
}
wait_for() {  # wait_for FILE PID
  for _ in $(seq 1000); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.01
  done
  return 1
}

check "a calibration" 0 "$LEPSIM" calibrate "$cal" -o ref.h5 -t 2 --report ref.html --fitted fitted.toml
expect "  prints the posterior and the predictive check" grep -q "Posterior predictive check" out.txt
expect "  no checkpoint or temporary left" bash -c '! ls ref.h5.*-partial ref.h5.tmp-* >/dev/null 2>&1'
check "the posterior file read by h5py" 0 $py - ref.h5 $P $N <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r"); p = f["posterior"]
P, N = int(sys.argv[2]), int(sys.argv[3])
assert p.attrs["format"] == "lepsim-posterior" and p.attrs["format_version"] == "1.0", dict(p.attrs)
for k in ["calibration_file", "scenario_file", "record_name", "seed", "lepsim_version", "git_revision", "created"]:
    assert k in p.attrs, k
assert p.attrs["seed"].dtype == np.uint64
x, w = p["parameters"][:], p["weights"][:]
assert x.shape == (P, 3) and w.shape == (P,) and abs(w.sum() - 1) < 1e-12
assert [s.decode() for s in p["factor_paths"][:]] == ["stages.procurement.work", "stages.construction.work", "national.approvals.capacity"]
assert [s.decode() for s in p["factor_modes"][:]] == ["scale", "scale", "set"]
assert np.all(x[:, 2] == np.round(x[:, 2])), "an integer factor's values are whole"
hm, abc, pp = f["history_matching"], f["abc"], f["predictive"]
w0 = hm["wave_0"]; assert w0["points"].shape == (N, 3) and w0["implausibility"].shape == (N, 3)
assert abc["tolerance"][0] == np.inf and np.all(np.diff(abc["tolerance"][:]) < 0)
assert [s.decode() for s in pp["ids"][:]] == ["done_72", "done_96", "done_120", "done_108"]
assert list(pp["fitted"][:]) == [1, 1, 1, 0]
assert np.all(pp["p10"][:] <= pp["p50"][:]) and np.all(pp["p50"][:] <= pp["p90"][:])
print("posterior ok:", x.shape, "generations", len(abc["tolerance"]))
PY
expect "the report is self-contained HTML with its four diagnostics" bash -c \
  'grep -q "id=\"waves\"" ref.html && grep -q "id=\"marginals\"" ref.html && grep -q "id=\"pairs\"" ref.html && grep -q "id=\"predictive\"" ref.html && ! grep -q "<script\|http://\|https://" ref.html'
expect "the fitted file has an input per factor" test "$(grep -c '^\[\[fitted.input\]\]' fitted.toml)" = 3
check "--check: the fitted file is current" 0 "$LEPSIM" calibrate --check fitted.toml
expect "  says current" grep -q "current" out.txt

# Staleness: a copy of the calibration beside its own record; change the record.
example_calibration stale "s/^particles = 300/particles = $P/" "s/^points_per_wave = 60/points_per_wave = $N/" \
  "s/^budget = .*/budget = $stale_budget/" >/dev/null
check "a cheap calibration for the staleness check" 0 "$LEPSIM" calibrate stale/cal.toml -o stale/p.h5 -t 2 --fitted stale/fitted.toml
check "  current before the change" 0 "$LEPSIM" calibrate --check stale/fitted.toml
sed -i 's/value = 26/value = 27/' stale/calibrate-example-record.toml
check "  stale once the record changes (exit 9)" 9 "$LEPSIM" calibrate --check stale/fitted.toml
expect "  says stale" grep -q "stale" out.txt

# SIGKILL mid-run (during ABC-SMC, after history matching), then --resume.
"$LEPSIM" calibrate "$cal" -o k.h5 -t 2 >/dev/null 2>&1 &
pid=$!
expect "SIGKILL: the run checkpointed an ABC-SMC generation first" wait_for k.h5.abc-partial $pid
kill -KILL $pid; wait $pid 2>/dev/null
expect "SIGKILL: no file under the final name" test ! -e k.h5
expect "  the checkpoints are left" test -s k.h5.hm-partial -a -s k.h5.abc-partial
check "without --resume a checkpoint is not overwritten (exit 4)" 4 "$LEPSIM" calibrate "$cal" -o k.h5 -t 2
expect "  the message says --resume" grep -q -- "--resume" err.txt
check "--resume after SIGKILL, on one thread" 0 "$LEPSIM" calibrate "$cal" -o k.h5 -t 1 --resume
expect "  says it resumed" grep -q "resumed from the checkpoints" out.txt
expect "  no checkpoint left" bash -c '! ls k.h5.*-partial >/dev/null 2>&1'
expect "SIGKILL + --resume: the same posterior file but 'created'" same_posterior ref.h5 k.h5

# SIGINT mid-run: exit 130, checkpoints kept, then --resume.
"$LEPSIM" calibrate "$cal" -o i.h5 -t 2 >/dev/null 2>err-int.txt &
pid=$!
expect "SIGINT: a generation checkpointed first" wait_for i.h5.abc-partial $pid
kill -INT $pid; wait $pid; rc=$?
expect "SIGINT: exit 130 (got $rc)" test "$rc" = 130
expect "  no file, no temporary" bash -c '! ls i.h5 i.h5.tmp-* >/dev/null 2>&1'
check "--resume after SIGINT" 0 "$LEPSIM" calibrate "$cal" -o i.h5 -t 2 --resume
expect "SIGINT + --resume: the same posterior file but 'created'" same_posterior ref.h5 i.h5

# Refusals and located errors.
check "the output exists: refused without --force (exit 4)" 4 "$LEPSIM" calibrate "$cal" -o ref.h5
check "no -o: usage error (exit 2)" 2 "$LEPSIM" calibrate "$cal"
check "--resume with --force: usage error (exit 2)" 2 "$LEPSIM" calibrate "$cal" -o x.h5 --resume --force
sed -e '0,/mode = "scale"/s//mode = "scael"/' -e 's/stages.construction.work/stages.construction.wrok/' -e 's/^seed = 4242/seed = -1/' "$cal" > bad.toml
sed -i "s|\.\./\.\./scenarios/example.toml|$SOURCE_DIR/scenarios/example.toml|; s|calibrate-example-record.toml|$SOURCE_DIR/tests/data/calibrate-example-record.toml|" bad.toml
check "a bad calibration file: exit 3" 3 "$LEPSIM" calibrate bad.toml -o bad.h5
expect "  mode located, with a suggestion" grep -q "bad.toml:28: factor\[0\].mode = \"scael\": must be \"set\" or \"scale\" (did you mean 'scale'?)" err.txt
expect "  the unknown path located" grep -q "bad.toml:34: factor\[1\].path = \"stages.construction.wrok\"" err.txt
expect "  the seed located" grep -q "bad.toml:9: calibration.seed = -1" err.txt
expect "  nothing written" test ! -e bad.h5
exit $fail

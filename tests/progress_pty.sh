#!/usr/bin/env bash
# The progress line as a person sees it on a terminal: `lepsim run` under a pseudo-terminal
# (util-linux `script`), its stderr captured and split into the frames it drew (each begins
# with a carriage return). The count of replications must never go back, never pass the
# total, end at exactly 100% total/total on one final line ending in a newline, and nothing
# else may be left on that line. Three ends of a run: threaded, single-threaded and
# write-bound (many cheap replications: the run file, not the simulation, takes the time).
# `lepsim experiment` draws the same line (its notes come first, on lines of their own).
# Off a terminal nothing is drawn. Needs LEPSIM, SOURCE_DIR, `script` and /usr/bin/python3.
source "$SOURCE_DIR/tests/shell_lib.sh"
command -v script >/dev/null || { echo "FAIL: util-linux 'script' is not installed"; exit 1; }

cat >frames.py <<'PY'
import re, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
total = int(sys.argv[2])
# The progress frames are the stderr text before the summary lines the command prints on
# stdout ("lepsim ..." of a run, "wrote ..." of an experiment), after any notes.
head = raw.split(sys.argv[3] if len(sys.argv) > 3 else "lepsim ", 1)[0]
if len(sys.argv) > 3:
    head = re.sub(r"^(?:[^\r\n]*\r?\n)+", "", head)  # the notes, each a whole line
    assert head.startswith("\r"), "a note not on a line of its own: %r" % head[:200]
frames = [f for f in head.split("\r") if f.strip()]
assert frames, "no progress frame drawn: %r" % raw[:200]
counts = []
for f in frames:
    m = re.search(r"\] +(\d+)% (\d+)/(\d+) replications", f)
    assert m, "not a progress frame: %r" % f
    pct, done, tot = int(m.group(1)), int(m.group(2)), int(m.group(3))
    assert tot == total, (tot, total)
    assert 0 <= done <= total and 0 <= pct <= 100, f
    assert pct < 100 or done == total, "100%% before the end: %r" % f
    assert f.endswith("\x1b[K") or f.endswith("\x1b[K\n") or f.endswith("\n"), "line not erased: %r" % f
    counts.append(done)
assert all(a <= b for a, b in zip(counts, counts[1:])), "count went back: %s" % counts
last = frames[-1]
assert re.search(r"100%% %d/%d replications in (\d+h)?(\d+m)?\d+s\x1b\[K$" % (total, total), last), "final frame: %r" % last
# ...and the line is finished: a newline follows it, and nothing else is drawn on it.
assert head.endswith(last + "\r\n") or head.endswith(last + "\n"), "last line not finished: %r" % head[-120:]
print("frames %d, counts %s ... %s" % (len(frames), counts[:3], counts[-3:]))
# An estimate once shown settles: the ETA never jumps to more than twice the one before.
etas = [int(x) for x in re.findall(r"ETA (\d+)s", head)]
assert all(b <= 2 * max(a, 1) for a, b in zip(etas, etas[1:])), "unsettled ETA: %s" % etas
PY

pty_run() {  # pty_run NAME TOTAL ARGS...: run under a pseudo-terminal, check the frames
  local name=$1 total=$2; shift 2
  script -qfec "$(printf '%q ' "$LEPSIM" run "$@")" /dev/null >"$name.txt" 2>&1
  expect "$name: exit 0" test $? -eq 0
  expect "$name: progress frames monotone, ending at 100% on a finished line" /usr/bin/python3 frames.py "$name.txt" "$total"
}

# National replications: N2 on two threads, N1 on one, 9 points x E in the experiment
# (fewer under the sanitizers, 10-30x slower: the same checks on fewer frames).
# W cheap replications for the write-bound end.
N2=120 N1=40 E=12 W=30000
[ -n "${LEPSIM_SANITIZED:-}" ] && N2=40 N1=16 E=4 W=10000
pty_run threaded $N2 "$SOURCE_DIR/scenarios/bsf.toml" -r $N2 -t 2 -o threaded.h5
pty_run single $N1 "$SOURCE_DIR/scenarios/bsf.toml" -r $N1 -t 1 -o single.h5
pty_run write-bound $W "$SOURCE_DIR/scenarios/example.toml" -r $W -t 2 -o write-bound.h5
expect "write-bound: the writing is named while it lasts" grep -q "writing" write-bound.txt

script -qfec "$(printf '%q ' "$LEPSIM" experiment "$SOURCE_DIR/scenarios/experiments/policy-grid.toml" -r $E -t 2 -o grid.h5)" /dev/null >experiment.txt 2>&1
expect "experiment: exit 0" test $? -eq 0
expect "experiment: progress frames monotone, ending at 100% (9 points x $E) on a finished line" \
  /usr/bin/python3 frames.py experiment.txt $((9 * E)) "wrote "

check "off a terminal: no progress line" 0 "$LEPSIM" run "$SOURCE_DIR/scenarios/example.toml" -r 50 -o quiet.h5
expect "  stderr is empty" test ! -s err.txt
exit $fail

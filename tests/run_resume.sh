# `lepsim run --resume` (docs/robustness.md, "Resuming a run"): a run SIGKILLed or
# stopped by SIGINT/SIGTERM mid-run resumes from its checkpoint (OUT.h5.partial) to the same
# datasets as an uninterrupted run; a checkpoint of another run is refused (exit 4).
# Needs LEPSIM and SOURCE_DIR.
. "$SOURCE_DIR/tests/shell_lib.sh"
ex=$SOURCE_DIR/scenarios/example.toml
compare() { /usr/bin/python3 "$SOURCE_DIR/tests/tools/compare_runs.py" "$1" "$2"; }
# Waits until the checkpoint holds a whole chunk or more (header 40 bytes, a chunk far more).
wait_for_chunk() {  # wait_for_chunk JOURNAL PID
  for _ in $(seq 600); do
    [ -s "$1" ] && [ "$(stat -c %s "$1")" -gt 4096 ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}
resumed_count() { sed -n 's/.*(\([0-9]*\) replications resumed.*/\1/p' out.txt; }

check "an uninterrupted run" 0 "$LEPSIM" run "$ex" -r 3000 -t 2 -o ref.h5
expect "  no checkpoint left after success" test ! -e ref.h5.partial

# SIGKILL mid-run, then --resume.
"$LEPSIM" run "$ex" -r 3000 -t 2 -o r.h5 >/dev/null 2>&1 &
pid=$!
expect "SIGKILL: the run checkpointed a chunk before it was killed" wait_for_chunk r.h5.partial $pid
kill -KILL $pid; wait $pid 2>/dev/null
expect "SIGKILL: no file under the final name" test ! -e r.h5
expect "SIGKILL: a checkpoint is left" test -s r.h5.partial
check "without --resume the checkpoint is not overwritten" 4 "$LEPSIM" run "$ex" -r 3000 -t 2 -o r.h5
expect "  the message says --resume" grep -q -- "--resume" err.txt
check "a checkpoint of another run (other seed) is refused" 4 "$LEPSIM" run "$ex" -r 3000 -t 2 -o r.h5 --seed 99 --resume
expect "  the message says it belongs to a different run" grep -q "belongs to a different run" err.txt
expect "  the refused checkpoint is kept" test -s r.h5.partial
check "--resume with --precision is a usage error" 2 "$LEPSIM" run "$ex" -o r.h5 --resume --precision 0.1 --on completed
check "--resume after SIGKILL" 0 "$LEPSIM" run "$ex" -r 3000 -t 1 -o r.h5 --resume
expect "  says where it resumed from" grep -q "resuming from" err.txt
n=$(resumed_count)
expect "  SIGKILL struck mid-run (${n:-0} of 3000 replications were checkpointed)" test "${n:-0}" -gt 0 -a "${n:-0}" -lt 3000
expect "  no checkpoint left" test ! -e r.h5.partial
expect "SIGKILL + --resume: identical to the uninterrupted run" compare ref.h5 r.h5

# SIGINT or SIGTERM mid-run: exit 130 with a resumable checkpoint, then --resume.
for sig in INT TERM; do
  "$LEPSIM" run "$ex" -r 3000 -t 2 -o s.h5 >/dev/null 2>err-int.txt &
  pid=$!
  expect "SIG$sig: the run checkpointed a chunk first" wait_for_chunk s.h5.partial $pid
  kill -$sig $pid; wait $pid; rc=$?
  expect "SIG$sig: exit 130 (got $rc)" test "$rc" = 130
  expect "  says how to resume" grep -q -- "--resume to finish" err-int.txt
  expect "  no file, no temporary" bash -c '! ls s.h5 s.h5.tmp-* >/dev/null 2>&1'
  expect "  a checkpoint is left" test -s s.h5.partial
  check "--resume after SIG$sig" 0 "$LEPSIM" run "$ex" -r 3000 -t 2 -o s.h5 --resume
  n=$(resumed_count)
  expect "  ${n:-0} of 3000 replications were resumed" test "${n:-0}" -gt 0 -a "${n:-0}" -lt 3000
  expect "SIG$sig + --resume: identical to the uninterrupted run" compare ref.h5 s.h5
  rm -f s.h5
done

# --force starts again over a checkpoint; --no-checkpoint keeps none.
"$LEPSIM" run "$ex" -r 3000 -t 2 -o f.h5 >/dev/null 2>&1 &
pid=$!
wait_for_chunk f.h5.partial $pid
kill -KILL $pid; wait $pid 2>/dev/null
check "--force starts again over a checkpoint" 0 "$LEPSIM" run "$ex" -r 3000 -t 2 -o f.h5 --force
expect "  nothing was resumed" test -z "$(resumed_count)"
expect "  and the file is identical" compare ref.h5 f.h5
check "--no-checkpoint" 0 "$LEPSIM" run "$ex" -r 50 -t 2 -o n.h5 --no-checkpoint
expect "  no checkpoint left" test ! -e n.h5.partial
exit $fail

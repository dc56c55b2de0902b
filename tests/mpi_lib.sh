# Shared by the MPI shell tests (sourced after shell_lib.sh): mpirun as root, oversubscribed
# and unbound (TBB inside each rank), with a time limit; and a job whose rank 1 is killed.
# Needs LEPSIM and MPIEXEC.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi() {  # mpi RANKS LEPSIM-ARGS...: at most 120 s, so a hang fails instead of blocking
  local n=$1; shift
  timeout 120 "$MPIEXEC" -n "$n" --oversubscribe --bind-to none "$LEPSIM" "$@"
}
# kill_and_resume NAME ARGS...: `mpirun -n 3 lepsim ARGS -o NAME.h5`, rank 1 killed with SIGKILL
# once NAME.h5.partial holds more than KILL_AFTER_BYTES (default 100000); the job must fail
# (non-zero, no hang) leaving no file under the final name, no temporary and the checkpoint;
# then `--resume` over 2 ranks must complete it (out.txt and err.txt are the resumed job's).
kill_and_resume() {
  local name=$1; shift
  timeout 120 "$MPIEXEC" -n 3 --oversubscribe --bind-to none "$LEPSIM" "$@" -o "$name.h5" >"$name.out" 2>"$name.err" &
  local job=$! victim="" code runner p  # job: timeout; its child is mpirun, whose children are the ranks
  for _ in $(seq 1 600); do
    if [ -z "$victim" ]; then
      for runner in $(ps -o pid= --ppid "$job"); do
        for p in $(ps -o pid= --ppid "$runner"); do
          tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p
        done
      done
    fi
    [ -n "$victim" ] && [ -s "$name.h5.partial" ] &&
      [ "$(stat -c %s "$name.h5.partial")" -gt "${KILL_AFTER_BYTES:-100000}" ] && break
    sleep 0.02
  done
  if [ -z "$victim" ]; then echo "FAIL: $name: rank 1 not found"; fail=1; kill "$job"; fi
  [ -n "$victim" ] && kill -KILL "$victim"
  wait "$job"
  code=$?
  if [ "$code" != 0 ] && [ "$code" != 124 ]; then echo "ok: $name: a killed rank fails the job (mpirun's exit $code), no hang"
  else echo "FAIL: $name: a killed rank: exit $code"; cat "$name.err"; fail=1; fi
  expect "$name: no file under the final name" test ! -e "$name.h5"
  # Rank 0 removes its temporary as it unwinds; when it cannot (OpenMPI aborts it when the
  # killed peer dies mid-message, "Read -1, expected N, errno = 3"), --resume removes it.
  if ls "$name".h5.tmp-* >/dev/null 2>&1; then echo "   (a temporary is left: $(ls "$name".h5.tmp-* | tr '\n' ' '); --resume must remove it)"
  else echo "ok: $name: no temporary left"; fi
  expect "$name: the checkpoint is kept" test -s "$name.h5.partial"
  check "$name: --resume over 2 ranks" 0 mpi 2 "$@" -o "$name.h5" --resume
  expect "$name: no temporary left after --resume" bash -c "! ls $name.h5.tmp-* >/dev/null 2>&1"
  grep -q "replications resumed from the checkpoint" out.txt && ! grep -q "resuming from $name.h5.partial: 0 of" err.txt ||
    { echo "FAIL: $name: nothing resumed: $(cat out.txt err.txt)"; fail=1; }
}

#!/usr/bin/env bash
# lepsim::mpi::distribute_units under a real mpirun (docs/cluster.md): the toy job's gathered
# output is the same bytes at 1, 2, 3 and 4 ranks (oversubscribed on a small machine), with any
# window and with rank 0 computing or not; more ranks than units does not hang; a unit that
# fails and a rank killed with SIGKILL both end the job with a non-zero code, no hang, and no
# file under the final name. Needs TOY (lepsim_mpi_toy) and MPIEXEC (mpirun).
set -u
fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Every rank runs 2 TBB threads beside mpirun's own; --bind-to none so they may use any core.
mpi() {  # mpi RANKS TOY-ARGS...: at most 60 s, so a hang fails instead of blocking
  local n=$1; shift
  timeout 60 "$MPIEXEC" -n "$n" --oversubscribe --bind-to none "$TOY" --threads 2 "$@"
}
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
same() {  # same DESCRIPTION A B
  if cmp -s "$2" "$3"; then ok "$1"; else bad "$1 ($2 and $3 differ)"; fi
}
no_temporaries() { ! ls ./*.tmp-* >/dev/null 2>&1; }

# 1. Same bytes at every rank count; units of uneven cost finish out of order.
for n in 1 2 3 4; do
  if mpi "$n" --units 60 --work-us 300 --output "n$n.bin" 2>"n$n.err"; then
    ok "$n rank(s): $(cat "n$n.err")"
  else
    bad "$n rank(s) exited $?: $(cat "n$n.err")"
  fi
done
for n in 2 3 4; do same "$n ranks write the same bytes as 1" n1.bin "n$n.bin"; done
# The bytes are units 0..59 in unit order, each as the toy defines it (an independent check).
if /usr/bin/python3 - n1.bin <<'EOF'
import struct, sys
M = (1 << 64) - 1
def splitmix(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M
    return x ^ (x >> 31)
want = [(splitmix(u * 1000 + j) >> 11) * 2.0**-53 for u in range(60) for j in range(8 + u % 3)]
data = open(sys.argv[1], 'rb').read()
got = list(struct.unpack('<%dd' % (len(data) // 8), data))
sys.exit(0 if got == want else 1)
EOF
then ok "the output is every unit's result in unit order"; else bad "the output is not the units in order"; fi
grep -q "per_rank 60$" n1.err && ok "one rank computes all 60 units" || bad "one rank: $(cat n1.err)"
# Dynamic hand-out: at 4 ranks every rank computed some units.
if grep -qE "per_rank [1-9][0-9]* [1-9][0-9]* [1-9][0-9]* [1-9][0-9]*$" n4.err; then ok "4 ranks all computed units"
else bad "4 ranks: some rank computed none: $(cat n4.err)"; fi

# 2. Window of one unit (no reordering held), one unit per rank at a time, and rank 0 as a
# dedicated writer.
mpi 4 --units 60 --work-us 300 --window 1 --output w1.bin 2>w1.err || bad "window 1 exited $?: $(cat w1.err)"
same "window 1 writes the same bytes" n1.bin w1.bin
grep -q "max_buffered 0 " w1.err && ok "window 1 buffers nothing" || bad "window 1: $(cat w1.err)"
mpi 4 --units 60 --work-us 300 --window 3 --output w3.bin 2>w3.err || bad "window 3 exited $?: $(cat w3.err)"
same "window 3 writes the same bytes" n1.bin w3.bin
if grep -qE "max_buffered [0-2] " w3.err; then ok "window 3 buffers at most 2 results"; else bad "window 3: $(cat w3.err)"; fi
mpi 3 --units 60 --work-us 300 --depth 1 --output d1.bin 2>d1.err || bad "depth 1 exited $?: $(cat d1.err)"
same "depth 1 (ask only when done) writes the same bytes" n1.bin d1.bin
for n in 2 3; do
  mpi "$n" --units 60 --work-us 300 --rank0-idle --output "idle$n.bin" 2>"idle$n.err" || bad "rank 0 idle at $n exited $?"
  same "$n ranks, rank 0 only writing: same bytes" n1.bin "idle$n.bin"
  grep -q "per_rank 0 " "idle$n.err" && ok "rank 0 idle computed nothing" || bad "rank 0 idle: $(cat "idle$n.err")"
done

# 3. More ranks than units, and no units at all: no hang, right bytes.
mpi 1 --units 2 --output two1.bin 2>/dev/null || bad "2 units on 1 rank exited $?"
mpi 4 --units 2 --output two4.bin 2>two4.err && ok "4 ranks, 2 units: exits 0" || bad "4 ranks, 2 units exited $?: $(cat two4.err)"
same "4 ranks, 2 units: same bytes as 1 rank" two1.bin two4.bin
mpi 3 --units 0 --output none.bin 2>/dev/null && [ -f none.bin ] && [ ! -s none.bin ] && ok "0 units: an empty file" \
  || bad "0 units on 3 ranks"
# A range that does not start at 0 (a shard): units 10..24 are bytes of the whole 0..59 run.
mpi 3 --first 10 --units 15 --output part.bin 2>/dev/null || bad "units 10..24 exited $?"
offset=0; for u in $(seq 0 9); do offset=$((offset + (8 + u % 3) * 8)); done
size=0; for u in $(seq 10 24); do size=$((size + (8 + u % 3) * 8)); done
tail -c +$((offset + 1)) n1.bin | head -c "$size" >part-of-n1.bin
same "units 10..24 on 3 ranks are the same bytes as in the whole run" part-of-n1.bin part.bin

# 4. A unit that fails (on whichever rank gets it): every rank ends with its code (4), no file.
for n in 1 3; do
  mpi "$n" --units 40 --work-us 300 --fail-unit 7 --output failed.bin 2>failed.err
  code=$?
  if [ "$code" = 4 ]; then ok "$n rank(s), unit 7 fails: exit 4"; else bad "$n rank(s), unit 7 fails: exit $code: $(cat failed.err)"; fi
  grep -q "unit 7: toy: unit 7 fails on purpose" failed.err && ok "the message names the unit" || bad "message: $(cat failed.err)"
  [ ! -e failed.bin ] && no_temporaries && ok "no output, no temporary" || bad "a file was left: $(ls)"
done

# Rank 0's writer fails: the same, every rank stops.
mpi 3 --units 40 --work-us 300 --fail-write 5 --output failed.bin 2>failed.err
code=$?
[ "$code" = 4 ] && ok "3 ranks, writing unit 5 fails: exit 4" || bad "writing unit 5 fails: exit $code: $(cat failed.err)"
[ ! -e failed.bin ] && no_temporaries && ok "no output, no temporary" || bad "a file was left: $(ls)"

# SIGTERM to mpirun (scancel, Ctrl-C): mpirun passes it to every rank; rank 0 removes its
# temporary and aborts the job (130 on each rank); mpirun itself exits non-zero (1).
# (timeout itself, not the mpi function's subshell, so that the signal reaches mpirun: timeout
# passes it on.)
timeout 60 "$MPIEXEC" -n 3 --oversubscribe --bind-to none "$TOY" --threads 2 --units 400 --work-us 20000 \
  --output term.bin 2>term.err &
job=$!
sleep 1.5
kill -TERM "$job"
wait "$job"
code=$?
if [ "$code" != 0 ] && [ "$code" != 124 ]; then ok "SIGTERM to mpirun ends the job (exit $code), no hang"
else bad "SIGTERM to mpirun: exit $code: $(cat term.err)"; fi
grep -q "rank 0: interrupted; " term.err && ok "rank 0 says it was interrupted" || bad "no interrupt message: $(cat term.err)"
[ ! -e term.bin ] && no_temporaries && ok "no output, no temporary" || bad "a file was left: $(ls)"

# 5. A rank killed with SIGKILL mid-job: mpirun ends the job with a non-zero code, no hang, and
# nothing under the final name. A worker killed: rank 0 is sent SIGTERM and removes its
# temporary too. The writer (rank 0) killed: its temporary NAME.tmp-PID is what SIGKILL leaves.
mkdir pids
kill_mid_job() {  # kill_mid_job RANK WHAT: 3 ranks, RANK killed once it has computed a unit
  local rank=$1 what=$2 job code
  rm -f pids/* killed.bin
  mpi 3 --units 400 --work-us 20000 --pid-dir pids --output killed.bin 2>killed.err &
  job=$!
  for _ in $(seq 1 200); do [ -s "pids/rank-$rank.pid" ] && break; sleep 0.05; done
  if [ ! -s "pids/rank-$rank.pid" ]; then
    kill "$job"; wait "$job"; bad "rank $rank never wrote its pid: $(cat killed.err)"; return
  fi
  kill -9 "$(cat "pids/rank-$rank.pid")"
  wait "$job"
  code=$?
  echo "   (mpirun's exit code after the $what's SIGKILL: $code)"
  if [ "$code" != 0 ] && [ "$code" != 124 ]; then ok "a killed $what fails the job (exit $code), no hang"
  else bad "a killed $what: exit $code: $(cat killed.err)"; fi
  [ ! -e killed.bin ] && ok "no file under the final name" || bad "killed.bin exists"
}
kill_mid_job 1 worker
no_temporaries && ok "no temporary left" || bad "a temporary was left: $(ls)"
kill_mid_job 0 writer

exit $fail

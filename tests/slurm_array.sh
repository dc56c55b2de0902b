#!/usr/bin/env bash
# A real single-node Slurm on this machine (docs/cluster.md, "The Slurm test"): writes
# tests/slurm/slurm.conf.in out for this host (its CPUs and memory as `slurmd -C` sees them),
# starts munged, slurmctld and slurmd as root in the background with their own state, spool,
# logs and ports under a scratch directory, waits for the node to be idle, submits a job array
# (sbatch --array=0-2 --wait, then --array=1-7:3) whose tasks each write one file named by
# SLURM_ARRAY_TASK_ID, checks the files, and stops the daemons whatever happens (trap on exit).
#
# Skips (exit 77, ctest SKIP_RETURN_CODE) only when this machine cannot run the daemons: not
# root, or Slurm/munge not installed; the reason is printed. Any other failure fails.
# With SHARD_ENV set (tests/shard_env.cpp), each task also prints its --shard slurm share.
# With LEPSIM and SOURCE_DIR set, a third array (--array=0-3) runs real `lepsim experiment
# --shard slurm` and `lepsim run --shard slurm` tasks; `lepsim merge` of each one's shards must
# equal the one-process file.
set -u
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "the Slurm daemons are started as root here, and this is uid $(id -u)"
for tool in munged slurmctld slurmd sbatch sinfo scontrol; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (.ci/install-deps installs slurm-wlm and munge)"
done

dir=$(mktemp -d /tmp/lepsim-slurm.XXXXXX)
chmod 755 "$dir"
mkdir -p "$dir/state" "$dir/spool" "$dir/munge" "$dir/out"
export SLURM_CONF=$dir/slurm.conf
stop() {
  local pidfile
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
  done
  sleep 0.5
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -s "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null
  done
  rm -rf "$dir"
}
trap stop EXIT
logs() { for f in "$dir"/*.log "$dir"/munge/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done; }
die() { echo "FAIL: $*"; logs; exit 1; }

# Free ports for the two daemons (the defaults 6817/6818 may be taken on a shared machine).
read -r ctld_port slurmd_port < <(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
host=$(hostname -s)
hw=$(slurmd -C | head -n 1)
cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
memory=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
[ -n "$cpus" ] && [ -n "$memory" ] || die "slurmd -C gave no CPUs or RealMemory: $hw"
sed -e "s|@HOST@|$host|g" -e "s|@DIR@|$dir|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEMORY@|$memory|g" \
    -e "s|@CTLD_PORT@|$ctld_port|g" -e "s|@SLURMD_PORT@|$slurmd_port|g" "$here/slurm/slurm.conf.in" >"$SLURM_CONF"
cp "$here/slurm/cgroup.conf" "$dir/cgroup.conf"
echo "node $host: CPUs=$cpus RealMemory=$memory MB; slurmctld port $ctld_port, slurmd port $slurmd_port; in $dir"

# munge: a fresh key and its own socket, so the machine's munged (if any) is not touched.
head -c 1024 /dev/urandom >"$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
munged --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
  || die "munged did not start"
slurmctld -f "$SLURM_CONF" -i || die "slurmctld did not start"
slurmd -f "$SLURM_CONF" || die "slurmd did not start"

for _ in $(seq 1 100); do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || die "the node is not idle after 20 s (sinfo: '${state:-nothing}')"
echo "ok: node $host idle"

# The arrays: each task writes out/NAME-ID.txt with its ID and count and, with SHARD_ENV
# (lepsim_shard_env), the share of 10 units it gets from --shard slurm.
cat >"$dir/task.sh" <<'EOF'
#!/usr/bin/env bash
{
  echo "task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT (min $SLURM_ARRAY_TASK_MIN, job $SLURM_ARRAY_JOB_ID)"
  [ -z "${SHARD_ENV:-}" ] || "$SHARD_ENV" 10
} >"$OUT/$NAME-$SLURM_ARRAY_TASK_ID.txt" 2>&1
EOF
chmod +x "$dir/task.sh"
submit() {  # submit NAME ARRAY: sbatch --wait, at most 60 s
  local start; start=$(date +%s)
  timeout 60 sbatch --wait --array="$2" --export=ALL,OUT="$dir/out",NAME="$1",SHARD_ENV="${SHARD_ENV:-}" \
    -o "$dir/out/slurm-%A_%a.log" "$dir/task.sh" || die "sbatch --wait --array=$2 failed (exit $?)"
  echo "ok: sbatch --array=$2 --wait finished in $(( $(date +%s) - start )) s"
}
fail=0
expect_task() {  # expect_task FILE FIRST-LINE-REGEX SHARE-LINE (the latter only with SHARD_ENV)
  if [ -f "$1" ] && grep -qx "$2" "$1" && { [ -z "${SHARD_ENV:-}" ] || grep -qx "$3" "$1"; }; then
    echo "ok: $(basename "$1"): $(tr '\n' ';' <"$1")"
  else
    echo "FAIL: $(basename "$1"): $(cat "$1" 2>&1)"; fail=1
  fi
}
shares=("0/3 0 4" "1/3 4 3" "2/3 7 3")  # 10 units in 3 shares: share, first unit, units
submit plain 0-2
for id in 0 1 2; do
  expect_task "$dir/out/plain-$id.txt" "task $id of 3 (min 0, job [0-9]*)" "${shares[$id]}"
done
# Task IDs 1, 4, 7 (from 1, step 3) are shares 0, 1, 2 all the same.
submit stepped 1-7:3
for k in 0 1 2; do
  id=$((1 + 3 * k))
  expect_task "$dir/out/stepped-$id.txt" "task $id of 3 (min 1, job [0-9]*)" "${shares[$k]}"
done
# Real lepsim tasks: 4 shards of a small experiment, merged, against one process.
if [ -n "${LEPSIM:-}" ] && [ -n "${SOURCE_DIR:-}" ]; then
  sed "s|^base = \"\.\./|base = \"$SOURCE_DIR/scenarios/|" "$SOURCE_DIR/scenarios/experiments/policy-grid.toml" >"$dir/grid.toml"
  cp "$SOURCE_DIR/scenarios/example.toml" "$dir/example.toml"
  # Each task runs its share of the experiment and its share of a run (lepsim run --shard slurm).
  printf '#!/usr/bin/env bash\n"$LEPSIM" experiment "$EXP" -r 5 --block 2 -t 1 --shard slurm -o "$OUT/grid-shard-$SLURM_ARRAY_TASK_ID.h5" &&\n"$LEPSIM" run "$RUN" -r 24 --block 4 -t 1 --shard slurm -o "$OUT/run-shard-$SLURM_ARRAY_TASK_ID.h5"\n' \
    >"$dir/lepsim-task.sh"
  chmod +x "$dir/lepsim-task.sh"
  start=$(date +%s)
  timeout 90 sbatch --wait --array=0-3 --export=ALL,OUT="$dir/out",LEPSIM="$LEPSIM",EXP="$dir/grid.toml",RUN="$dir/example.toml" \
    -o "$dir/out/lepsim-%A_%a.log" "$dir/lepsim-task.sh" || die "sbatch of the lepsim array failed (exit $?)"
  echo "ok: 4 tasks of lepsim experiment --shard slurm and lepsim run --shard slurm finished in $(( $(date +%s) - start )) s"
  n=$(ls "$dir"/out/grid-shard-*.h5 2>/dev/null | wc -l)
  [ "$n" = 4 ] && echo "ok: 4 shard files" || { echo "FAIL: $n shard files"; cat "$dir"/out/lepsim-*.log; fail=1; }
  "$LEPSIM" merge "$dir"/out/grid-shard-*.h5 -o "$dir/merged.h5" && echo "ok: lepsim merge" || { echo "FAIL: merge"; fail=1; }
  "$LEPSIM" experiment "$dir/grid.toml" -r 5 --block 2 -t 2 -o "$dir/one.h5" >/dev/null || { echo "FAIL: one process"; fail=1; }
  if /usr/bin/python3 "$SOURCE_DIR/tests/tools/compare_runs.py" "$dir/one.h5" "$dir/merged.h5"; then
    echo "ok: the array's merged shards = one process"
  else echo "FAIL: merged shards differ from one process"; fail=1; fi
  n=$(ls "$dir"/out/run-shard-*.h5 2>/dev/null | wc -l)
  [ "$n" = 4 ] && echo "ok: 4 run shard files" || { echo "FAIL: $n run shard files"; cat "$dir"/out/lepsim-*.log; fail=1; }
  "$LEPSIM" merge "$dir"/out/run-shard-*.h5 -o "$dir/run-merged.h5" && echo "ok: lepsim merge of the run shards" ||
    { echo "FAIL: merge of the run shards"; fail=1; }
  "$LEPSIM" run "$dir/example.toml" -r 24 -t 2 -o "$dir/run-one.h5" >/dev/null || { echo "FAIL: run, one process"; fail=1; }
  if /usr/bin/python3 "$SOURCE_DIR/tests/tools/compare_runs.py" "$dir/run-one.h5" "$dir/run-merged.h5"; then
    echo "ok: the array's merged run shards = the unsharded run"
  else echo "FAIL: merged run shards differ from the unsharded run"; fail=1; fi
fi
n=$(ls "$dir"/out/*-*.txt | wc -l)
[ "$n" = 6 ] && echo "ok: exactly 6 task files" || { echo "FAIL: $n task files"; fail=1; }
[ "$fail" = 0 ] || logs
exit $fail

#!/usr/bin/env bash
# Every threaded path of the command line once, small, for ThreadSanitizer (CI stage 3; the
# other shell scripts run in stages 1 and 2, docs/robustness.md "What runs where"): `lepsim
# run` on 2 threads (workers, the writer's shared column work, the progress line on a
# terminal), cancelled by SIGINT and resumed, sharded and merged; `lepsim experiment` on 2
# threads, killed and resumed; `lepsim calibrate` and `lepsim size` on 2 threads. Each result
# is also checked against one thread's, bit for bit. Needs LEPSIM, SOURCE_DIR, `script`.
. "$SOURCE_DIR/tests/shell_lib.sh"
ex=$SOURCE_DIR/scenarios/example.toml
compare() { /usr/bin/python3 "$SOURCE_DIR/tests/tools/compare_runs.py" "$@"; }

# lepsim run: every mechanism (bsf.toml), then many cheap replications (example.toml).
check "run bsf.toml on 2 threads" 0 "$LEPSIM" run "$SOURCE_DIR/scenarios/bsf.toml" -r 4 -t 2 -o bsf2.h5
check "run bsf.toml on 1 thread" 0 "$LEPSIM" run "$SOURCE_DIR/scenarios/bsf.toml" -r 4 -t 1 -o bsf1.h5
expect "  the same bits" compare bsf2.h5 bsf1.h5
R=400
check "run example.toml on 2 threads" 0 "$LEPSIM" run "$ex" -r $R -t 2 -o ref.h5
check "run example.toml on 1 thread" 0 "$LEPSIM" run "$ex" -r $R -t 1 -o one.h5
expect "  the same bits" compare ref.h5 one.h5
check "the progress line on a terminal, 2 threads" 0 script -qec "$LEPSIM run $ex -r $R -t 2 -o pty.h5" /dev/null
expect "  it reached $R/$R" grep -q "100% $R/$R replications" out.txt
expect "  the same bits" compare ref.h5 pty.h5

"$LEPSIM" run "$ex" -r $R -t 2 -o s.h5 >/dev/null 2>err-int.txt &
pid=$!
expect "SIGINT: the run checkpointed a chunk first" wait_for_size s.h5.partial 4096 $pid
kill -INT $pid; wait $pid; rc=$?
expect "SIGINT: exit 130 (got $rc)" test "$rc" = 130
check "--resume on 2 threads" 0 "$LEPSIM" run "$ex" -r $R -t 2 -o s.h5 --resume
expect "  the same bits" compare ref.h5 s.h5

check "shard 0/2 on 2 threads" 0 "$LEPSIM" run "$ex" -r $R -t 2 --shard 0/2 -o sh0.h5
check "shard 1/2 on 2 threads" 0 "$LEPSIM" run "$ex" -r $R -t 2 --shard 1/2 -o sh1.h5
check "merge" 0 "$LEPSIM" merge sh0.h5 sh1.h5 -o merged.h5
expect "  the same bits" compare ref.h5 merged.h5

# lepsim experiment: 12 points x 16 replications in blocks of 1, killed mid-run and resumed.
printf '[experiment]\nbase = "%s"\ndesign = "grid"\nreplications = 16\nseed = 3\n' "$ex" > grid.toml
printf '[[factor]]\nname = "approvals"\npath = "national.approvals.capacity"\nlevels = [1, 2, 3, 4]\n' >> grid.toml
printf '[[factor]]\nname = "procurement"\npath = "stages.procurement.work"\nscale = true\nlevels = [0.8, 1, 1.2]\n' >> grid.toml
printf '[output]\nmetrics = ["completed", "completed_cumulative@60"]\nseries = ["completed_cumulative"]\n' >> grid.toml
check "experiment on 2 threads" 0 "$LEPSIM" experiment grid.toml -o e2.h5 -t 2 --block 1
check "experiment on 1 thread" 0 "$LEPSIM" experiment grid.toml -o e1.h5 -t 1 --block 3
expect "  the same bits" compare e2.h5 e1.h5
"$LEPSIM" experiment grid.toml -o k.h5 -t 2 --block 1 >/dev/null 2>&1 &
pid=$!
expect "SIGKILL: the experiment checkpointed some blocks first" wait_for_size k.h5.partial 20000 $pid
kill -KILL $pid; wait $pid 2>/dev/null
check "--resume after SIGKILL on 2 threads" 0 "$LEPSIM" experiment grid.toml -o k.h5 -t 2 --block 1 --resume
expect "  the same bits" compare e2.h5 k.h5

# lepsim calibrate: history matching and ABC-SMC on 2 threads (a cheap budget).
cal=$(example_calibration cal 's/^particles = .*/particles = 60/' 's/^points_per_wave = .*/points_per_wave = 20/' \
      's/^budget = .*/budget = 1500/')
check "calibrate on 2 threads" 0 "$LEPSIM" calibrate "$cal" -o p2.h5 -t 2
check "calibrate on 1 thread" 0 "$LEPSIM" calibrate "$cal" -o p1.h5 -t 1
expect "  the same bits (but when)" compare p2.h5 p1.h5 --ignore-attr /posterior@created

# lepsim size on 2 threads (shell_lib.sh sizing_scenario: exactly 3 FTE).
sizing_scenario sz.toml
check "size on 2 threads" 0 "$LEPSIM" size sz.toml --by 24 -o plan.toml -t 2 --search-replications 20 --certify-replications 50 --json
expect "  3 FTE, certified" /usr/bin/python3 -c 'import json; j = json.load(open("out.txt")); assert j["certificate"]["fte"] == [3.0] and j["certified"], j'

[ $fail = 0 ] && echo "threads cli: all passed"
exit $fail

#!/usr/bin/env bash
# Faults as a user meets them, through the command line (docs/robustness.md): bad
# scenarios, absurd sizes, output that cannot be written or is interrupted, and run
# files that cannot be read. Each ends with a documented exit code, a message on
# stderr naming what is wrong, nothing on stdout, and no file or temporary left behind.
# Needs LEPSIM and SOURCE_DIR; edits HDF5 files with Debian's /usr/bin/python3 (h5py).
source "$SOURCE_DIR/tests/shell_lib.sh"
ex="$SOURCE_DIR/scenarios/example.toml"
bsf="$SOURCE_DIR/scenarios/bsf.toml"

# ---------------------------------------------------------------------------
# Bad scenarios: exit 3, every message `FILE:LINE: KEY = VALUE: RULE` on stderr.
# (tests/test_scenario.cpp holds the full table; these go through the executable.)
cat > good.toml <<'EOF'
disciplines = ["client", "design"]
[scenario]
name = "faults"
[time]
start = "2010-01"
step_months = 1
horizon_months = 60
[run]
replications = 2
seed = 1
[stages.a]
work = 6
demand = { client = 1 }
[stages.b]
work = { dist = "pert", min = 2, mode = 3, max = 6 }
[stages.c]
work = 3
demand = { design = 1 }
[project_types.school]
stages = ["a", "b", "c"]
[[authorities]]
name = "la"
schools = 3
team = { client = 2, design = 1 }
EOF
check "the base of the bad scenarios is valid" 0 "$LEPSIM" validate good.toml

bad() {  # bad DESCRIPTION SED-EDIT EXPECTED-MESSAGE (a fixed string, grep -F)
  local what=$1 edit=$2 message=$3
  sed "$edit" good.toml > bad.toml
  check "bad scenario: $what" 3 "$LEPSIM" validate bad.toml
  expect "  located message: $message" grep -qF "$message" err.txt
  expect "  nothing on stdout" test ! -s out.txt
}
bad "duplicate key" 's/^seed = 1/replications = 3/' "bad.toml:10:"
bad "wrong type" 's/^horizon_months = 60/horizon_months = "60"/' \
  'bad.toml:7: time.horizon_months = "60": must be a number, not string'
bad "nan" 's/^work = 6/work = nan/' "bad.toml:12: stages.a.work = nan: must be a finite number"
bad "infinity" 's/^horizon_months = 60/horizon_months = inf/' "bad.toml:7: time.horizon_months = inf:"
bad "zero duration" 's/^work = 6/work = 0/' "bad.toml:12: stages.a.work = 0: must be > 0"
bad "negative duration" 's/^work = 3/work = -3/' "bad.toml:17: stages.c.work = -3:"
bad "PERT with min > mode" 's/min = 2, mode = 3/min = 4, mode = 3/' "bad.toml:15: stages.b.work.mode = 3:"
bad "unknown predecessor" 's/^demand = { design = 1 }/after = ["bb"]/' \
  'bad.toml:18: stages.c.after = "bb": unknown predecessor stage'
bad "cyclic predecessors" 's/^demand = { client = 1 }/after = ["b"]/;s/^\(work = { dist = "pert".*\)$/\1\nafter = ["a"]/' \
  "bad.toml:16: stages.b.after: predecessors form a cycle: a -> b -> a"
bad "a discipline no team supplies" 's/^team = .*/team = { client = 2 }/' \
  "stage 'c' of project type 'school' demands design but authority group 'la' has no design FTE"
bad "horizon of zero" 's/^horizon_months = 60/horizon_months = 0/' "bad.toml:7: time.horizon_months = 0: must be > 0"
bad "probability above 1" 's/^seed = 1/seed = 1\n[lep]\nformed_at = "b"\n[partnering]\nlong_run = 1.5/' \
  "bad.toml:14: partnering.long_run = 1.5:"

: > empty.toml
check "bad scenario: empty file" 3 "$LEPSIM" validate empty.toml
expect "  says it is empty" grep -qF "empty.toml:" err.txt
head -c 3000 "$LEPSIM" > garbage.toml
check "bad scenario: binary garbage" 3 "$LEPSIM" run garbage.toml -o garbage.h5
expect "  says it is not text" grep -qF "garbage.toml:" err.txt
expect "  no run file" test ! -e garbage.h5

# ---------------------------------------------------------------------------
# Absurd sizes: refused before starting, with the estimate.
check "a run whose file cannot fit the disk" 4 "$LEPSIM" run "$bsf" -o huge.h5 -r 10000000
expect "  the estimate is given" grep -q "TB before compression" err.txt
expect "  no file, no temporary" test ! -e huge.h5
expect "  no temporary" no_temporaries .
check "a run whose memory cannot fit the machine" 6 "$LEPSIM" run "$SOURCE_DIR/tests/data/giant.toml" -o giant.h5 -r 10
expect "  the estimate is given" grep -q "needs about" err.txt
expect "  no file" test ! -e giant.h5

# ---------------------------------------------------------------------------
# Output faults: exit 4 (or 130 when interrupted), no file under the final name, no temporary.
check "a first run" 0 "$LEPSIM" run "$ex" -o out.h5 -r 10
sum_before=$(cksum < out.h5)
check "an existing file is not overwritten" 4 "$LEPSIM" run "$ex" -o out.h5 -r 20
expect "  the message says --force" grep -q -- "--force" err.txt
expect "  the file is unchanged" test "$(cksum < out.h5)" = "$sum_before"
echo "a file" > plainfile
check "a directory that is a file" 4 "$LEPSIM" run "$ex" -o plainfile/x.h5 -r 2
expect "  names the path" grep -qF "plainfile/x.h5" err.txt
check "a directory that cannot be written" 4 "$LEPSIM" run "$ex" -o /proc/lepsim-test.h5 -r 2
check "the output is a directory" 4 "$LEPSIM" run "$ex" -o . -r 2 --force

# A disk that fills during the write: the file size limit stands in for a full disk
# (SIGXFSZ is ignored, so the write fails with EFBIG as it would with ENOSPC).
check "the disk fills during the write" 4 bash -c "ulimit -f 64; exec \"$LEPSIM\" run \"$ex\" -o full.h5 -r 400 -t 2"
expect "  the message names the file" grep -qF "full.h5" err.txt
expect "  no file under the final name" test ! -e full.h5
expect "  no temporary" no_temporaries .
check "the disk fills while exporting" 4 bash -c "ulimit -f 4; exec \"$LEPSIM\" export out.h5 --to csvfull"
expect "  no export directory under the final name" test ! -e csvfull
expect "  no temporary" no_temporaries .

# SIGINT and SIGTERM during a long run: exit 130 within a replication or so.
for sig in INT TERM; do
  rm -f sig.h5 sig.h5.partial
  "$LEPSIM" run "$bsf" -o sig.h5 -r 20000 -t 2 >out.txt 2>err.txt &
  pid=$!
  for _ in $(seq 1 300); do  # wait until the run is under way (its temporary exists)
    ls sig.h5.tmp-* >/dev/null 2>&1 && break
    sleep 0.1
  done
  sleep 0.5
  started=$(date +%s)
  kill -$sig $pid
  wait $pid
  code=$?
  took=$(( $(date +%s) - started ))
  expect "SIG$sig: exit 130 (got $code)" test "$code" = 130
  expect "  stopped within 10 s (took ${took} s)" test "$took" -le 10
  expect "  says it was interrupted" grep -qi "interrupted" err.txt
  expect "  no file under the final name" test ! -e sig.h5
  expect "  no temporary" no_temporaries .
done
rm -f sig.h5.partial  # a checkpoint if a chunk finished first (tests/run_resume.sh resumes one)

# ---------------------------------------------------------------------------
# Reading faults: every command that reads run files refuses each bad file with
# exit 5, naming the file and the problem, and writes nothing.
check "a valid run file" 0 "$LEPSIM" run "$ex" -o valid.h5 -r 20
mkdir adir
printf '[scenario]\nname = "not a run file"\n' > text.h5
: > empty.h5
head -c $(( $(stat -c %s valid.h5) / 2 )) valid.h5 > truncated.h5
/usr/bin/python3 - <<'EOF'
import shutil, h5py, numpy as np
data = bytearray(open("valid.h5", "rb").read())
mid = len(data) // 2
data[mid:mid + 64] = b"X" * 64
open("corrupted.h5", "wb").write(data)
with h5py.File("other.h5", "w") as f:
    f["x"] = np.arange(3.0)
shutil.copy("valid.h5", "newer.h5")
with h5py.File("newer.h5", "r+") as f:
    f.attrs["format_version"] = np.array([2, 0], dtype=np.int32)
shutil.copy("valid.h5", "wrongtype.h5")
with h5py.File("wrongtype.h5", "r+") as f:
    x = f["series/completions"][:].astype(np.float64)
    del f["series/completions"]
    f["series/completions"] = x
EOF
declare -A problem=(
  [missing.h5]="no such file" [adir]="is a directory" [text.h5]="not an HDF5 file" [empty.h5]="is empty"
  [truncated.h5]="truncated" [corrupted.h5]="corrupted" [other.h5]="not a lepsim run file"
  [newer.h5]="format 2.0 is newer" [wrongtype.h5]="wrong type")
for file in missing.h5 adir text.h5 empty.h5 truncated.h5 corrupted.h5 other.h5 newer.h5 wrongtype.h5; do
  for cmd in summary report compare export info; do
    case $cmd in
      summary | info) args=("$file") ;;
      report) args=("$file" -o r.html) ;;
      compare) args=(valid.h5 "$file") ;;
      export) args=("$file" --to csvout) ;;
    esac
    check "$cmd refuses $file" 5 "$LEPSIM" "$cmd" "${args[@]}"
    expect "  names the file and says '${problem[$file]}'" grep -qF "$file: " err.txt
    expect "  the problem" grep -qF "${problem[$file]}" err.txt
    expect "  nothing on stdout" test ! -s out.txt
  done
done
expect "no report or export was written from a bad file" test ! -e r.html -a ! -e csvout
expect "no temporary" no_temporaries .

[ $fail = 0 ] && echo "faults: all passed"
exit $fail

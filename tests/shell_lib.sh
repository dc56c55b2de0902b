# Shared by the shell tests (sourced): check a command's exit code, check a
# condition, a scratch directory removed on exit. Needs LEPSIM and SOURCE_DIR.
set -u
fail=0
check() {  # check DESCRIPTION EXPECTED_CODE COMMAND... (stdout to out.txt, stderr to err.txt)
  local what=$1 want=$2; shift 2
  "$@" >out.txt 2>err.txt
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; cat out.txt err.txt; fail=1
  else
    echo "ok: $what (exit $got)"
  fi
}
expect() {  # expect DESCRIPTION COMMAND... (a condition)
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
no_temporaries() {  # no_temporaries DIR: no `NAME.tmp-PID` left behind
  ! ls "$1"/*.tmp-* >/dev/null 2>&1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
# wait_for_size FILE BYTES PID: true once FILE holds more than BYTES (a checkpoint with some
# work in it), false if PID ends first or after 2 minutes (sanitized builds are slow).
wait_for_size() {
  for _ in $(seq 2400); do
    [ -s "$1" ] && [ "$(stat -c %s "$1")" -gt "$2" ] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
# example_calibration DIR [SED-EXPR...]: a copy of tests/data/calibrate-example.toml in DIR,
# beside a copy of its record (so a test may change that record), with the scenario's path
# made absolute and each SED-EXPR applied (a smaller budget, fewer particles); prints its path.
example_calibration() {
  local dir=$1 e; shift
  local args=(-e "s|\.\./\.\./scenarios/example.toml|$SOURCE_DIR/scenarios/example.toml|")
  for e in "$@"; do args+=(-e "$e"); done
  mkdir -p "$dir" && cp "$SOURCE_DIR/tests/data/calibrate-example-record.toml" "$dir/" &&
    sed "${args[@]}" "$SOURCE_DIR/tests/data/calibrate-example.toml" > "$dir/cal.toml" &&
    echo "$(cd "$dir" && pwd)/cal.toml"
}
# sizing_scenario FILE: 12 projects of 6 months, all released at once, one discipline:
# finishing by month 24 needs exactly 3 FTE (docs/sizing.md), so `lepsim size` has one answer.
sizing_scenario() {
  printf 'disciplines = ["staff"]\n[scenario]\nname = "s"\n[time]\nstart = "2008-04"\nstep_months = 1\nhorizon_months = 60\n[stages.build]\nwork = 6\ndemand = { staff = 1 }\n[project_types.t]\nstages = ["build"]\n[[authorities]]\nname = "x"\nschools = 12\nrelease_interval_months = 0\nmix = { t = 1 }\nteam = { staff = 1 }\n' > "$1"
}

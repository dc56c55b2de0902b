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

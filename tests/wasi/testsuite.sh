#!/usr/bin/env bash
# The official WASI preview1 test suite (WebAssembly/wasi-testsuite, prebuilt
# C, Rust and AssemblyScript tests; ../shared/wasi-testsuite, see its
# PROVENANCE.txt) under `mote run`, as its specification.md says
# (tests/wasi/testsuite_lib.sh): every test's folder copied, its root
# preopened read-write as "/", args and env applied, the exit code and the
# given stdout/stderr compared.
#
#   tests/wasi/testsuite.sh BUILD_DIR [SUITE/NAME...]     (make wasi-testsuite)
#
# Environment: WASI_TESTSUITE (the suite's folder, default
# ../shared/wasi-testsuite from the repository root), MOTE (default
# BUILD_DIR/mote), WASI_TIER (opt|quick, default opt), MOTE_CACHE (default
# BUILD_DIR/wasi/cache), WASI_KEEP=1 keeps the run directories, WASI_ROOT=ro
# preopens every root read-only, as a function's files are under `mote serve`
# (how tests/wasi/testsuite_server.skip was found). Every run is
# under `timeout` (120 s) with stdin from /dev/null, in the copy of its
# folder.
# Prints one line per failure; the last line is
# "wasi-testsuite: N passed, N failed".
set -u
BUILD=${1:?usage: testsuite.sh BUILD_DIR [SUITE/NAME...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testsuite_lib.sh"
MOTE=${MOTE:-$BUILD/mote}
case $MOTE in /*) ;; *) MOTE=$PWD/$MOTE ;; esac
TIER=${WASI_TIER:-opt}
export MOTE_CACHE=${MOTE_CACHE:-$BUILD/wasi/cache}
mkdir -p "$MOTE_CACHE" && MOTE_CACHE=$(cd "$MOTE_CACHE" && pwd)
suite=${WASI_TESTSUITE:-$here/../../../shared/wasi-testsuite}
if ! ts_open "$suite"; then
  echo "FAIL: no WASI test suite in $suite (set WASI_TESTSUITE to its folder)"
  echo "wasi-testsuite: 0 passed, 1 failed"
  exit 1
fi
tmp=$(mktemp -d /tmp/mote-wasi-suite-XXXXXX)
if [ "${WASI_KEEP:-0}" = 1 ]; then echo "run directories kept in $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
passed=0; failed=0
readarray -t tests < <(ts_list "$@")

ts_compile "$MOTE" "$TIER" "${tests[@]}"

for t in "${tests[@]}"; do
  cdir=$tmp/$t
  mkdir -p "$cdir"
  if ! ts_load "$t" "$cdir"; then
    failed=$((failed + 1)); echo "FAIL $t: $ts_why"; continue
  fi
  if ! ts_copy "$t" "$cdir"; then
    failed=$((failed + 1)); echo "FAIL $t: cannot copy its folder"; continue
  fi
  if [ -n "$ts_root" ] && [ ! -d "$cdir/folder/$ts_root" ]; then
    failed=$((failed + 1)); echo "FAIL $t: its root $ts_root is not a folder"; continue
  fi
  ts_run "$MOTE" "$TIER" "${WASI_ROOT:-rw}" "$t" "$cdir"
  rc=$?
  if ts_compare "$cdir" "$rc" "$cdir/stdout" "$cdir/stderr"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $t: $ts_diff"
  fi
done

echo "wasi-testsuite: $passed passed, $failed failed"
[ $failed -eq 0 ]

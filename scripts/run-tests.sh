#!/usr/bin/env bash
# Runs test binaries, prints each one's summary and one total line.
# usage: run-tests.sh BUILD_DIR BIN...
set -u
build=$1; shift
total_pass=0; total_fail=0
for bin in "$@"; do
  case "$bin" in
    *.sh) out=$("$bin" "$build" 2>&1); rc=$? ;;
    *) out=$("$bin" 2>&1); rc=$? ;;
  esac
  line=$(printf '%s\n' "$out" | grep -E ': [0-9]+ passed, [0-9]+ failed$' | tail -n1)
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    printf '%s\n' "$out"
  else
    printf '%s\n' "$line"
  fi
  p=$(printf '%s' "$line" | sed -nE 's/.*: ([0-9]+) passed.*/\1/p'); p=${p:-0}
  f=$(printf '%s' "$line" | sed -nE 's/.* ([0-9]+) failed$/\1/p'); f=${f:-0}
  # A binary that crashed or exited non-zero without failures counts as one failure.
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
done
echo "unit ($build): $total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ]

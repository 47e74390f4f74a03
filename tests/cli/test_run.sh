#!/usr/bin/env bash
# `mote run` from the outside: exit statuses and the one-line messages.
# usage: test_run.sh BUILD_DIR
set -u
build=${1:-build}
mote="$build/mote"
tmp=$(mktemp -d /tmp/mote-cli-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export MOTE_CACHE="$tmp/cache"
passed=0; failed=0

check() { # name, condition result (0 = ok), detail
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "  FAIL $1: $3" >&2; fi
}

wat() { wat2wasm "$@"; }

# A module that uses SIMD runs: the lanes' sum decides the exit status (the
# guest traps unless i32x4.add and the extraction worked).
cat > "$tmp/simd.wat" <<'W'
(module (func (export "_start")
  (if (i32.ne (i32x4.extract_lane 3 (i32x4.add (v128.const i32x4 1 2 3 40) (v128.const i32x4 4 3 2 2)))
              (i32.const 42))
    (then unreachable))))
W
wat "$tmp/simd.wat" -o "$tmp/simd.wasm"
out=$("$mote" run "$tmp/simd.wasm" 2>&1); rc=$?
check "simd runs" $([ $rc -eq 0 ]; echo $?) "rc=$rc out=$out"

# A cache directory whose parents do not exist yet is made with them.
out=$(MOTE_CACHE="$tmp/deep/er/cache" "$mote" run "$tmp/simd.wasm" 2>&1); rc=$?
[ $rc -eq 0 ] && [ -d "$tmp/deep/er/cache/locks" ]
check "a cache directory is made with its parents" $? "rc=$rc out=$out"

# What cannot be read as a module file is named with why: a missing file, a directory.
out=$("$mote" run "$tmp/nothere.wasm" 2>&1); rc=$?
[ $rc -ne 0 ] && [[ "$out" == *"cannot read $tmp/nothere.wasm: No such file or directory"* ]]
check "a missing module file is named" $? "rc=$rc out=$out"
out=$("$mote" run "$tmp" 2>&1); rc=$?
[ $rc -ne 0 ] && [[ "$out" == *"cannot read $tmp: Invalid argument"* ]]
check "a directory is not read as a module" $? "rc=$rc out=$out"

# A feature past Wasm 2.0 is refused before any compiler runs, naming the feature.
cat > "$tmp/tail.wat" <<'W'
(module (func $f (export "_start") (return_call $f)))
W
wat --enable-tail-call "$tmp/tail.wat" -o "$tmp/tail.wasm"
out=$("$mote" run "$tmp/tail.wasm" 2>&1); rc=$?
[ $rc -eq 65 ] && [[ "$out" == *"unsupported feature tail calls"* ]] && [[ "$out" == *"offset"* ]]
check "tail calls refused" $? "rc=$rc out=$out"

# Garbage is refused as malformed.
echo "not a module" > "$tmp/junk.wasm"
out=$("$mote" run "$tmp/junk.wasm" 2>&1); rc=$?
[ $rc -eq 65 ] && [[ "$out" == "mote: "* ]]
check "junk refused" $? "rc=$rc out=$out"

# A module with no imports runs; its start and _start run; exit 0.
cat > "$tmp/ok.wat" <<'W'
(module (memory 1) (global $g (mut i32) (i32.const 0))
  (func $init (global.set $g (i32.const 1))) (start $init)
  (func (export "_start") (if (i32.ne (global.get $g) (i32.const 1)) (then unreachable))))
W
wat "$tmp/ok.wat" -o "$tmp/ok.wasm"
out=$("$mote" run "$tmp/ok.wasm" 2>&1); rc=$?
check "runs" $([ $rc -eq 0 ]; echo $?) "rc=$rc out=$out"

# The run left its (quick) object in the cache; a compile of that tier finds it.
out=$("$mote" compile --tier quick "$tmp/ok.wasm" 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"cached"* ]]
check "cached" $? "rc=$rc out=$out"

# A trap is one line and its own status.
cat > "$tmp/trap.wat" <<'W'
(module (func (export "_start") (drop (i32.div_s (i32.const 1) (i32.const 0)))))
W
wat "$tmp/trap.wat" -o "$tmp/trap.wasm"
out=$("$mote" run "$tmp/trap.wasm" 2>&1); rc=$?
[ $rc -eq 68 ] && [ "$out" = "mote: trap: integer divide by zero" ]
check "trap" $? "rc=$rc out=$out"

# Endless recursion is a trap, not a crash.
cat > "$tmp/deep.wat" <<'W'
(module (func $f (call $f)) (func (export "_start") (call $f)))
W
wat "$tmp/deep.wat" -o "$tmp/deep.wasm"
out=$("$mote" run "$tmp/deep.wasm" 2>&1); rc=$?
[ $rc -eq 68 ] && [[ "$out" == *"call stack exhausted"* ]]
check "exhaustion" $? "rc=$rc out=$out"

# --memory caps growth: memory.grow past the cap returns -1 (the module traps if it does not).
cat > "$tmp/grow.wat" <<'W'
(module (memory 1)
  (func (export "_start")
    (if (i32.ne (memory.grow (i32.const 15)) (i32.const 1)) (then unreachable))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))))
W
wat "$tmp/grow.wat" -o "$tmp/grow.wasm"
out=$("$mote" run --memory 1 "$tmp/grow.wasm" 2>&1); rc=$?
check "memory cap" $([ $rc -eq 0 ]; echo $?) "rc=$rc out=$out"

# An import it cannot satisfy is named.
cat > "$tmp/imp.wat" <<'W'
(module (import "env" "missing" (func)) (func (export "_start")))
W
wat "$tmp/imp.wat" -o "$tmp/imp.wasm"
out=$("$mote" run "$tmp/imp.wasm" 2>&1); rc=$?
[ $rc -eq 67 ] && [[ "$out" == *'"env" "missing"'* ]]
check "unknown import" $? "rc=$rc out=$out"

# WASI: a C program compiled for wasm32-wasi gets its argv, exactly the --env
# variables, stdin, its preopen; its exit code is mote's.
if command -v clang-19 >/dev/null; then
  cat > "$tmp/w.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  extern char **environ;
  if (argc > 1 && !strcmp(argv[1], "spam")) { for (;;) fputs("spam spam spam\n", stdout); }
  if (argc > 1 && !strcmp(argv[1], "loop")) { for (volatile int i = 0;; i++) {} }
  if (argc > 1 && !strcmp(argv[1], "sleep")) { sleep(100); }
  for (int i = 0; i < argc; i++) printf("argv %s\n", argv[i]);
  for (char **e = environ; *e; e++) printf("env %s\n", *e);
  char line[64];
  if (fgets(line, sizeof line, stdin)) printf("stdin %s", line);
  FILE *f = fopen("/data/out.txt", "w");
  printf("write: %s\n", f ? "ok" : "refused");
  if (f) fclose(f);
  return argc > 2 ? atoi(argv[2]) : 0;
}
C
  clang-19 --target=wasm32-wasi -O2 "$tmp/w.c" -o "$tmp/w.wasm"
  mkdir -p "$tmp/data"
  out=$(echo hi | HOSTVAR=leak "$mote" run --tier quick --env A=1 --dir "$tmp/data:/data:rw" "$tmp/w.wasm" x 7 2>&1); rc=$?
  want=$(printf 'argv %s\nargv x\nargv 7\nenv A=1\nstdin hi\nwrite: ok' "$tmp/w.wasm")
  [ $rc -eq 7 ] && [ "$out" = "$want" ] && [ -f "$tmp/data/out.txt" ]
  check "wasi run" $? "rc=$rc out=$out"

  rm -f "$tmp/data/out.txt"
  out=$("$mote" run --tier quick --dir "$tmp/data:/data" "$tmp/w.wasm" </dev/null 2>&1); rc=$?
  [ $rc -eq 0 ] && [[ "$out" == *"write: refused"* ]] && [ ! -f "$tmp/data/out.txt" ]
  check "read-only dir by default" $? "rc=$rc out=$out"

  out=$("$mote" run --tier quick --max-output 1000 "$tmp/w.wasm" spam 2>&1 >/dev/null); rc=$?
  [ $rc -eq 70 ] && [ "$out" = "mote: stdout exceeded its limit of 1000 bytes" ]
  check "stdout cap" $? "rc=$rc out=$out"

  out=$("$mote" run --tier quick --timeout 300 "$tmp/w.wasm" loop 2>&1); rc=$?
  [ $rc -eq 69 ] && [[ "$out" == "mote: timeout"* ]]
  check "timeout in a loop" $? "rc=$rc out=$out"

  out=$("$mote" run --tier quick --timeout 300 "$tmp/w.wasm" sleep 2>&1); rc=$?
  [ $rc -eq 69 ] && [[ "$out" == "mote: timeout"* ]]
  check "timeout in a sleep" $? "rc=$rc out=$out"

  out=$("$mote" run --dir "$tmp/nonexistent" "$tmp/w.wasm" 2>&1); rc=$?
  check "bad --dir" $([ $rc -eq 64 ]; echo $?) "rc=$rc out=$out"
fi

# The default tier: the optimised object if it is cached, else the quick one; nothing
# is left running when mote run returns (every process it could start names $tmp: the
# module's path or the cache under it), and only `mote compile` builds the optimised tier.
cat > "$tmp/auto.wat" <<'W'
(module (func (export "_start")) (func (export "auto_tier_probe")))
W
wat "$tmp/auto.wat" -o "$tmp/auto.wasm"
auto_cache="$tmp/auto-cache"
MOTE_CACHE="$auto_cache" "$mote" run "$tmp/auto.wasm"; rc=$?
check "auto runs" $rc "rc=$rc"
left=$(pgrep -af -- "$tmp" | grep -v "^$$ " || true)
check "nothing left running after mote run" $([ -z "$left" ]; echo $?) "alive: $left"
n=$(ls "$auto_cache"/*.so 2>/dev/null | wc -l)
check "auto compiled the quick tier only" $([ "$n" -eq 1 ]; echo $?) "$n objects in the cache"
out=$(MOTE_CACHE="$auto_cache" "$mote" compile --tier quick "$tmp/auto.wasm"); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *cached* ]]
check "the object auto made is the quick tier's" $? "rc=$rc out=$out"
out=$(MOTE_CACHE="$auto_cache" "$mote" compile "$tmp/auto.wasm"); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *compiled* ]]
check "mote compile builds the optimised tier" $? "rc=$rc out=$out"
# With the optimised object cached, auto uses it and compiles nothing.
before=$(ls -l --time-style=+%s.%N "$auto_cache" | md5sum)
MOTE_CACHE="$auto_cache" "$mote" run "$tmp/auto.wasm"; rc=$?
after=$(ls -l --time-style=+%s.%N "$auto_cache" | md5sum)
[ $rc -eq 0 ] && [ "$before" = "$after" ] && [ "$(ls "$auto_cache"/*.so | wc -l)" -eq 2 ]
check "auto runs the cached optimised object" $? "rc=$rc"
# A run that times out leaves nothing either.
if [ -f "$tmp/w.wasm" ]; then
  "$mote" run --timeout 200 "$tmp/w.wasm" sleep >/dev/null 2>&1
  left=$(pgrep -af -- "$tmp" | grep -v "^$$ " || true)
  check "nothing left running after a timeout" $([ -z "$left" ]; echo $?) "alive: $left"
fi

# A module the quick tier (tcc) cannot compile, a function of 300 parameters: `mote run`
# runs it on the optimised tier; asking for the quick tier names why it cannot.
python3 - "$tmp/many.wat" <<'P'
import sys
n = 300
with open(sys.argv[1], "w") as f:
    f.write('(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))\n')
    f.write(' (func $many (param' + ' i32' * n + ') (result i32) (i32.add (local.get 0) (local.get %d)))\n' % (n - 1))
    f.write(' (func (export "_start") (call $exit (call $many' + ''.join(' (i32.const %d)' % (42 if i == n - 1 else 0) for i in range(n)) + '))))\n')
P
wat "$tmp/many.wat" -o "$tmp/many.wasm"
out=$(MOTE_CACHE="$tmp/many-cache" "$mote" run "$tmp/many.wasm" 2>&1); rc=$?
[ $rc -eq 42 ] && [ "$(ls "$tmp/many-cache"/*.so | wc -l)" -eq 1 ]
check "a module tcc cannot compile runs on the optimised tier" $? "rc=$rc out=$out"
out=$(MOTE_CACHE="$tmp/many-cache" "$mote" run --tier quick "$tmp/many.wasm" 2>&1); rc=$?
[ $rc -eq 66 ] && [[ "$out" == *"type 1 has 300 parameters and 1 results (at most 250 together)"* ]]
check "the quick tier says why it cannot" $? "rc=$rc out=$out"

# Bad command lines.
"$mote" run >/dev/null 2>&1; rc=$?
check "usage" $([ $rc -eq 64 ]; echo $?) "rc=$rc"
"$mote" run --help | grep -q "exit status"
check "help" $? "no exit statuses in --help"

echo "tests/cli/test_run.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]

#!/usr/bin/env bash
# A guest recursion that runs out of stack while calling into the host: a
# WASI function at every level, or runtime work that allocates (table.grow's
# realloc). Either is "call stack exhausted" (502, code trap) on both tiers,
# and the server goes on serving: before the host kept a reserve of stack
# (src/rt/thread.c need_stack), the first killed the server (a fault in a
# host function is the host's) and the second left malloc's lock held, so
# the worker's next allocation never returned.
#
# One worker: every call runs on the same thread, so a lock it left held
# would stop the next call. Stacks of 512 KiB (a connection's thread gets
# RLIMIT_STACK): the recursion is then some ten thousand levels deep, and
# table.grow's table as many entries; with 8 MiB, a sanitizer build's
# realloc (a new mapping and a copy every time) made a call take minutes.
# usage: test_stack.sh BUILD_DIR
set -u
build=${1:-build}
test_name=stack
. "$(dirname "$0")/server_lib.sh"
ulimit -s 512

# $f recurses, doing BODY at every level before its call.
recursion() { # NAME IMPORTS BODY
  cat >"$tmp/$1.wat" <<W
(module $2
  (table \$t 0 funcref)
  (memory (export "memory") 1)
  (func \$f (param i32) (result i32)
    $3
    (i32.add (call \$f (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "_start") (drop (call \$f (i32.const 0)))))
W
  wat2wasm "$tmp/$1.wat" -o "$tmp/$1.wasm"
}
recursion wasi '(import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))' \
  '(drop (call $clock (i32.const 0) (i64.const 1) (i32.const 16)))'
recursion grow '' '(drop (table.grow $t (ref.null func) (i32.const 1)))'
recursion plain '' ''
cat >"$tmp/hi.wat" <<'W'
(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 16) "hi\n")
  (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
W
wat2wasm "$tmp/hi.wat" -o "$tmp/hi.wasm"

# A call that exhausts the stack, then hi on the same worker; X-Mote-Tier
# says which tier ran them.
exhausted() { # NAME TIER
  req GET "/faas/$1"
  [ "$code" = 502 ] && [ "$(jget '.code')" = trap ] &&
    [[ "$(jget '.error')" == *"call stack exhausted"* ]] && [ "$(header X-Mote-Tier)" = "$2" ]
  check "$1 on the $2 tier: call stack exhausted" $? "$code $(header X-Mote-Tier) ${body:0:300}"
  req GET /faas/hi
  [ "$code" = 200 ] && [ "$body" = hi ]
  check "after $1 on the $2 tier, the worker serves the next call" $? "$code ${body:0:300}"
}
deploy_all() {
  for m in wasi grow plain hi; do
    deploy "$m" "$tmp/$m.wasm"
    check "deploy $m" "$([ "$code" = 201 ]; echo $?)" "$code $body"
  done
}

# The quick tier: an opt compiler that fails at once keeps every function on it.
MOTE_CC=/bin/false start_server 1
check "server with one worker starts" $? "$(cat "$tmp/out" "$tmp/err")"
deploy_all
for m in wasi grow plain; do exhausted "$m" quick; exhausted "$m" quick; done
stop_server

# The opt tier, from a cold cache.
rm -rf "$tmp/data"
start_server 1
check "server with one worker starts again" $? "$(cat "$tmp/out" "$tmp/err")"
deploy_all
for m in wasi grow plain hi; do
  wait_opt "$m"
  check "$m reaches the opt tier" "$([ "$(jget .tier)" = opt ]; echo $?)" "${body:0:300}"
done
for m in wasi grow plain; do exhausted "$m" opt; exhausted "$m" opt; done
kill -0 "$server_pid" 2>/dev/null
check "the server is alive" $? "$(tail -5 "$tmp/err")"

echo "tests/server/test_stack.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# The optimised tier's background build in `mote serve`: a failure is never
# silent. With a C compiler that fails (MOTE_CC), a deploy is served on the
# quick tier, and its version record, /metrics and the server's stderr say
# that the opt build failed and why; a good build is counted too.
# usage: test_opt_tier.sh BUILD_DIR
set -u
build=${1:-build}
test_name=opttier
. "$(dirname "$0")/server_lib.sh"
sample() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }' "$tmp/b"; }

cat >"$tmp/hi.wat" <<'W'
(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 16) "hi\n")
  (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
W
wat2wasm "$tmp/hi.wat" -o "$tmp/hi.wasm" || { echo "wat2wasm failed"; exit 1; }
# It fails once the test says so (a gate: the file cc-go), so that "the opt
# tier building" is a state the deploy's answer is sure to see.
printf '#!/bin/sh\nuntil [ -e "%s/cc-go" ]; do sleep 0.05; done\necho "cc: simulated failure of the optimising compiler" >&2\nexit 1\n' \
  "$tmp" >"$tmp/failcc"
chmod +x "$tmp/failcc"


# The opt build fails: the quick tier serves, and everyone is told.
MOTE_CC="$tmp/failcc" start_server 2
check "server starts" $? "$(cat "$tmp/err")"
deploy hi "$tmp/hi.wasm"
[ "$code" = 201 ] && [ "$(jget '.tier')" = quick ] && [ "$(jget '.opt_tier')" = building ]
check "deploy: the quick tier, the opt tier building" $? "$code $body"
touch "$tmp/cc-go"
wait_opt hi
[ "$(jget '.opt_tier, .tier')" = "failed quick" ] && jget '.opt_error' | grep -q "simulated failure"
check "the version record says the opt build failed, and why" $? "$body"
req GET /faas/hi
[ "$code" = 200 ] && [ "$body" = hi ] && [ "$(header X-Mote-Tier)" = quick ]
check "calls are served on the quick tier" $? "$code $body"
mreq GET /metrics
[ "$(sample 'mote_opt_builds_total{result="failed"}')" = 1 ] && [ "$(sample 'mote_opt_builds_total{result="ok"}')" = 0 ]
check "/metrics counts the failed opt build" $? "$(grep opt_builds "$tmp/b")"
grep -q "hi v1: the opt tier failed (.*simulated failure" "$tmp/err"
check "stderr has a line for it" $? "$(tail -3 "$tmp/err")"
stop_server

# With the real compiler (a data directory of its own, so the cache is cold) the build succeeds.
rm -rf "$tmp/data"
start_server 2
deploy hi "$tmp/hi.wasm"
wait_opt hi
[ "$(jget '.opt_tier, .tier')" = "ready opt" ] && [ -z "$(jget '.opt_error // empty')" ]
check "a good opt build: ready, and the opt tier serves" $? "$body"
mreq GET /metrics
[ "$(sample 'mote_opt_builds_total{result="ok"}')" = 1 ]
check "/metrics counts the good opt build" $? "$(grep opt_builds "$tmp/b")"

echo "tests/server/test_opt_tier.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]

#!/usr/bin/env bash
# `mote serve` end to end: a real server on a free loopback port with a
# temporary data directory, driven with curl.
# usage: test_server.sh BUILD_DIR
set -u
build=${1:-build}
test_name=server
. "$(dirname "$0")/server_lib.sh"

# ---- the functions -----------------------------------------------------------
wat() { wat2wasm "$@"; }
cat >"$tmp/trap.wat" <<'W'
(module (memory (export "memory") 1) (func (export "_start") unreachable))
W
cat >"$tmp/spin.wat" <<'W'
(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))
W
cat >"$tmp/exit3.wat" <<'W'
(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const 3))))
W
cat >"$tmp/hi.wat" <<'W'
(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 16) "hi from wat\n")
  (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 12))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
W
cat >"$tmp/imp.wat" <<'W'
(module (import "env" "missing" (func)) (func (export "_start")))
W
for m in trap spin exit3 hi imp; do wat "$tmp/$m.wat" -o "$tmp/$m.wasm"; done
# One C program, its behaviour chosen by the MODE setting of each deploy.
cat >"$tmp/tool.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gate.h"
int main(int argc, char **argv) {
  extern char **environ;
  const char *mode = getenv("MODE") ? getenv("MODE") : "echo";
  if (!strcmp(mode, "cat")) {
    static char buf[65536]; size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
    return 0;
  }
  if (!strcmp(mode, "env")) { for (char **e = environ; *e; e++) printf("%s\n", *e); return 0; }
  if (!strcmp(mode, "stderr")) { fprintf(stderr, "something went wrong: oops\n"); return 1; }
  if (!strcmp(mode, "flood")) { for (;;) fputs("flood flood flood flood\n", stdout); }
  if (!strcmp(mode, "slow")) { /* slow MS, or slow gate NAME (programs/gate.h) */
    if (argc > 2 && !strcmp(argv[1], "gate")) {
      if (gate_wait(argv[2]) != 0) return 3;
    } else {
      usleep(argc > 1 ? atoi(argv[1]) * 1000 : 0);
    }
    printf("version %s\n", getenv("VERSION"));
    return 0;
  }
  for (int i = 0; i < argc; i++) printf("%s\n", argv[i]);
  return 0;
}
C
# Stack first: an overflow traps instead of corrupting data (DESIGN.md).
clang-19 --target=wasm32-wasi -O2 -I"$(dirname "$0")/programs" -Wl,--stack-first -Wl,-z,stack-size=262144 \
  "$tmp/tool.c" -o "$tmp/tool.wasm" || { echo "clang-19 failed"; exit 1; }
gate_bundle "$tmp/tool.wasm" || { echo "cannot make the bundle"; exit 1; }
echo "not a module" >"$tmp/junk.wasm"

start_server
check "server starts and prints its port" $? "$(cat "$tmp/out" "$tmp/err")"

req GET /healthz
[ "$code" = 200 ] && [ "$(jget '.status')" = ok ]
check "healthz" $? "$code $body"

# ---- deploy --------------------------------------------------------------------
deploy echo "$tmp/tool.wasm" "timeout=5000&memory=64"
[ "$code" = 201 ] && [ "$(jget '.name, .version, .settings.timeout_ms, .settings.memory_mib')" = "echo 1 5000 64" ] \
  && [ "$(jget '(.module_hash | length)')" = 64 ] && [ -n "$(jget '.created')" ]
check "deploy: 201 with the version record" $? "$code $body"

deploy cat "$tmp/tool.wasm" "env=MODE=cat"; c1=$code
deploy envy "$tmp/tool.wasm" "env=MODE=env&env=GREETING=hello+world&env=X=a%3Db"; c2=$code
deploy stderr "$tmp/tool.wasm" "env=MODE=stderr"; c3=$code
deploy flood "$tmp/tool.wasm" "env=MODE=flood&timeout=20000"; c4=$code
deploy trap "$tmp/trap.wasm"; c5=$code
deploy spin "$tmp/spin.wasm" "timeout=200"; c6=$code
deploy exit3 "$tmp/exit3.wasm"; c7=$code
deploy hi "$tmp/hi.wasm" "public=true"; c8=$code
[ "$c1$c2$c3$c4$c5$c6$c7$c8" = 201201201201201201201201 ]
check "deploy wat2wasm and clang modules" $? "$c1 $c2 $c3 $c4 $c5 $c6 $c7 $c8"

# ---- calls -----------------------------------------------------------------------
req GET "/faas/echo?arg=hello&arg=a+b%21&arg="
[ "$code" = 200 ] && [ "$body" = "$(printf 'echo\nhello\na b!\n')" ] \
  && [[ "$(header Content-Type)" == application/octet-stream* ]]
check "GET: args become argv[1..], argv[0] the name" $? "$code [$body]"
id=$(header X-Mote-Activation-Id)
[[ "$id" =~ ^[0-9a-f]{32}$ ]] && [[ "$(header X-Mote-Wait-Us)" =~ ^[0-9]+$ ]] \
  && [[ "$(header X-Mote-Init-Us)" =~ ^[0-9]+$ ]] && [[ "$(header X-Mote-Exec-Us)" =~ ^[0-9]+$ ]]
check "activation id and timing headers" $? "$(cat "$tmp/h")"

req POST "/faas/echo?arg=x" --data-binary 'ignored'
[ "$code" = 200 ] && [ "$body" = "$(printf 'echo\nx\n')" ]
check "POST with args" $? "$code [$body]"

head -c 300000 /dev/urandom >"$tmp/rand"
acurl -s --max-time 20 -o "$tmp/rand.out" -w '%{http_code}' --data-binary "@$tmp/rand" "$base/faas/cat" >"$tmp/code"
[ "$(cat "$tmp/code")" = 200 ] && cmp -s "$tmp/rand" "$tmp/rand.out"
check "POST: binary body -> stdin -> stdout, byte for byte" $? "$(cat "$tmp/code")"

req GET /faas/envy
[ "$body" = "$(printf 'MODE=env\nGREETING=hello world\nX=a=b')" ]
check "env settings are the whole environment" $? "[$body]"

req GET /faas/hi
[ "$code" = 200 ] && [ "$body" = "hi from wat" ]
check "a wat module writes stdout" $? "$code [$body]"

req GET /faas/trap
[ "$code" = 502 ] && [ "$(jget '.code')" = trap ] && [[ "$(jget '.error')" == *unreachable* ]] \
  && [ -n "$(header X-Mote-Activation-Id)" ]
check "trap: 502 with the trap" $? "$code $body"

# The loop never ends by itself: a 504 is its timeout, and the message names
# the 200 ms it was deployed with (not the default of 30 s, which curl's 20 s
# would not see end).
req GET /faas/spin
[ "$code" = 504 ] && [ "$(jget '.code')" = timeout ] && [[ "$(jget '.error')" == *"200 ms"* ]]
check "endless loop: 504 at its timeout of 200 ms" $? "$code $body"

req GET /faas/exit3
[ "$code" = 502 ] && [ "$(jget '.code, .exit_code')" = "exit 3" ]
check "non-zero exit: 502 with the status" $? "$code $body"

req GET /faas/stderr
[ "$code" = 502 ] && [[ "$(jget '.stderr')" == *"something went wrong: oops"* ]] && [ "$(jget '.exit_code')" = 1 ]
check "stderr tail in the error" $? "$code $body"

req GET /faas/flood
[ "$code" = 502 ] && [ "$(jget '.code')" = limit ] && [[ "$(jget '.error')" == *"stdout exceeded"* ]]
check "output cap: 502 limit" $? "$code ${body:0:300}"

# ---- errors ------------------------------------------------------------------------
req GET /faas/nope
[ "$code" = 404 ] && [ "$(jget '.code')" = not_found ] &&
  [[ "$(jget '.error')" == "no function here that this request may call"* ]]
check "unknown function: 404" $? "$code $body"
req POST /faas/nope --data-binary 'x'
check "unknown function (POST): 404" $([ "$code" = 404 ]; echo $?) "$code $body"
req GET "/faas/echo?arg=%zz"
[ "$code" = 400 ] && [ "$(jget '.code')" = bad_query ]
check "malformed query: 400" $? "$code $body"
req GET "/faas/echo?arg=a%00b"
check "NUL in an argument: 400" $([ "$code" = 400 ]; echo $?) "$code $body"
req GET "/faas/echo?color=red"
check "unknown parameter: 400" $([ "$code" = 400 ]; echo $?) "$code $body"
q=$(printf 'arg=%d&' $(seq 257)); req GET "/faas/echo?${q%&}"
[ "$code" = 400 ] && [[ "$(jget '.error')" == *"too many arguments"* ]]
check "257 arguments: 400" $? "$code $body"
q=$(printf 'arg=%d&' $(seq 301)); req GET "/faas/echo?${q%&}"
[ "$code" = 400 ] && [[ "$(jget '.error')" == *"too many query parameters"* ]]
check "301 query parameters: 400" $? "$code $body"
q=$(printf 'arg=%d&' $(seq 256)); req GET "/faas/echo?${q%&}"
[ "$code" = 200 ] && [ "$(printf '%s\n' "$body" | wc -l)" = 257 ]
check "256 arguments: 200" $? "$code"
head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$tmp/big"
req POST /faas/cat --data-binary "@$tmp/big"
[ "$code" = 413 ] && [ "$(jget '.code')" = body_too_large ]
check "body over 16 MiB: 413" $? "$code $body"
req POST /faas/cat -H 'Transfer-Encoding: chunked' --data-binary "@$tmp/big"
check "chunked body over 16 MiB: 413" $([ "$code" = 413 ]; echo $?) "$code $body"
req DELETE /faas/echo
[ "$code" = 405 ] && [ -n "$(header Allow)" ]
check "wrong method: 405 with Allow" $? "$code $body"
req GET /nowhere
check "unknown route: 404" $([ "$code" = 404 ]; echo $?) "$code $body"

req PUT /v1/functions/echo -H 'Content-Type: text/plain' --data-binary "@$tmp/tool.wasm"
[ "$code" = 415 ] && [ "$(jget '.code')" = unsupported_media_type ]
check "deploy with another content type: 415" $? "$code $body"
deploy echo "$tmp/junk.wasm"
[ "$code" = 400 ] && [ "$(jget '.code')" = malformed_module ] && [ -n "$(jget '.error')" ]
check "deploy of a malformed module: 400 with the reader's message" $? "$code $body"
deploy echo "$tmp/imp.wasm"
[ "$code" = 400 ] && [[ "$(jget '.error')" == *'"env" "missing"'* ]]
check "deploy of a module with an unknown import: 400" $? "$code $body"
req GET "/faas/echo?arg=still"
[ "$code" = 200 ] && [ "$body" = "$(printf 'echo\nstill\n')" ] && [ "$(header X-Mote-Version)" = 1 ]
check "after refused deploys the old version serves" $? "$code [$body]"
deploy echo "$tmp/tool.wasm" "memory=lots"
check "bad setting: 400" $([ "$code" = 400 ] && [ "$(jget '.code')" = bad_setting ]; echo $?) "$code $body"
deploy echo "$tmp/tool.wasm" "colour=red"
check "unknown setting: 400" $([ "$code" = 400 ]; echo $?) "$code $body"
deploy ".hidden" "$tmp/tool.wasm"
check "bad name: 400" $([ "$code" = 400 ] && [ "$(jget '.code')" = invalid_name ]; echo $?) "$code $body"
req PUT /v1/functions/empty -H 'Content-Type: application/wasm'
check "empty module: 400" $([ "$code" = 400 ]; echo $?) "$code $body"

# ---- update while serving --------------------------------------------------------
# A call of version 1 is held at a gate (server_lib.sh) while version 2 is
# deployed and called; then it is let go.
gate_deploy slow "env=MODE=slow&env=VERSION=1"
v1=$code
acurl -s --max-time 600 -D "$tmp/slow.h" -o "$tmp/slow.out" "$base/faas/slow?arg=gate&arg=update" &
slow_pid=$!
wait_metric 'mote_function_calls_running{namespace="guest",function="slow"}' 1; running=$?
gate_deploy slow "env=MODE=slow&env=VERSION=2"
v2=$code; v2ver=$(jget '.version')
req GET "/faas/slow?arg=0"
now=$body; nowver=$(header X-Mote-Version)
gate_open update
wait $slow_pid
[ "$v1" = 201 ] && [ $running = 0 ] && [ "$v2" = 201 ] && [ "$v2ver" = 2 ] && [ "$now" = "version 2" ] && [ "$nowver" = 2 ]
check "update: version 2 serves right after PUT" $? "$v1 running=$running $v2 $v2ver [$now] $nowver"
[ "$(cat "$tmp/slow.out")" = "version 1" ] && grep -qi '^X-Mote-Version: 1' "$tmp/slow.h"
check "update: the call in flight finishes on version 1" $? "[$(cat "$tmp/slow.out")]"

# Calls at once, on one version, each in its own instance.
pids=
for i in $(seq 8); do acurl -s --max-time 20 -o "$tmp/par.$i" "$base/faas/echo?arg=$i" & pids="$pids $!"; done
wait $pids
ok=0; for i in $(seq 8); do [ "$(cat "$tmp/par.$i")" = "$(printf 'echo\n%s\n' $i)" ] || ok=1; done
check "8 parallel calls" $ok ""

# Keep-alive: two requests on one connection.
acurl -sv --max-time 20 -o /dev/null -o /dev/null "$base/faas/echo" "$base/healthz" 2>"$tmp/kv"
grep -qiE 're-?using (existing )?connection' "$tmp/kv"
check "keep-alive" $? "$(grep -i connection "$tmp/kv" | head -3)"

# ---- list, get, delete -------------------------------------------------------------
req GET /v1/functions
[ "$code" = 200 ] && [ "$(jget '[.functions[].name] | join(",")')" = "cat,echo,envy,exit3,flood,hi,slow,spin,stderr,trap" ]
check "list" $? "$code ${body:0:300}"
req GET /v1/functions/slow
[ "$code" = 200 ] && [ "$(jget '.version, .settings.env')" = "2 MODE=slow,VERSION=2" ]
check "get" $? "$code $body"
deploy gone "$tmp/hi.wasm"
req DELETE /v1/functions/gone
check "delete: 200" $([ "$code" = 200 ]; echo $?) "$code $body"
req GET /faas/gone
check "deleted: calls 404" $([ "$code" = 404 ]; echo $?) "$code $body"
req GET /v1/functions/gone
check "deleted: get 404" $([ "$code" = 404 ]; echo $?) "$code $body"
req DELETE /v1/functions/gone
check "delete of an absent function: 404" $([ "$code" = 404 ] && [ "$(jget '.code')" = not_found ]; echo $?) "$code $body"

# ---- activations ---------------------------------------------------------------------
req GET "/faas/echo?arg=record-me"
rid=$(header X-Mote-Activation-Id)
req GET "/v1/activations/$rid"
[ "$code" = 200 ] && [ "$(jget '.id, .function, .http_status, .outcome, .exit_code')" = "$rid echo 200 ok 0" ] \
  && [[ "$(jget '.stdout')" == *record-me* ]]
check "activation get" $? "$code $body"
req GET "/v1/activations?function=echo&limit=2"
[ "$code" = 200 ] && [ "$(jget '(.activations | length), .activations[0].id')" = "2 $rid" ]
check "activation list: newest first, limit" $? "$code ${body:0:300}"
req GET "/v1/activations?function=trap"
[ "$(jget '.activations[0].http_status, .activations[0].exit_code')" = "502 -1" ] \
  && [[ "$(jget '.activations[0].outcome')" == trap* ]]
check "activation of a trap" $? "${body:0:300}"
future=$(( $(date +%s) * 1000 + 3600000 ))
req GET "/v1/activations?since=$future"
check "activation list since" $([ "$(jget '(.activations | length)')" = 0 ]; echo $?) "$body"
req GET /v1/activations/0123456789abcdef0123456789abcdef
check "unknown activation: 404" $([ "$code" = 404 ]; echo $?) "$code $body"
req GET "/v1/activations?limit=zero"
check "bad activation query: 400" $([ "$code" = 400 ]; echo $?) "$code $body"

# ---- the optimised tier replaces the quick one --------------------------------------
# Its build runs in the background: wait while the record says "building"
# (server_lib.sh); "failed" ends the wait at once.
wait_opt echo
opt=$(jget '.opt_tier'); tier=$(jget '.tier'); opt_error=$(jget '.opt_error // empty')
req GET "/faas/echo?arg=fast"
[ "$opt" = ready ] && [ "$tier" = opt ] && [ "$(header X-Mote-Tier)" = opt ] && [ "$body" = "$(printf 'echo\nfast\n')" ]
check "the opt tier is swapped in" $? "opt_tier=$opt tier=$tier $opt_error $(header X-Mote-Tier)"

# ---- kill -9 and restart: every acknowledged function serves ---------------------------
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=
start_server
check "restart after kill -9" $? "$(tail -5 "$tmp/err")"
req GET /v1/functions
names=$(jget '[.functions[].name] | join(",")')
[ "$names" = "cat,echo,envy,exit3,flood,hi,slow,spin,stderr,trap" ]
check "restart: every function is listed" $? "$names"
bad=
for f in cat echo envy exit3 flood hi slow spin stderr trap; do
  req GET "/faas/$f"
  case $f in
    trap|exit3|stderr|flood) want=502 ;; spin) want=504 ;; *) want=200 ;;
  esac
  [ "$code" = "$want" ] || bad="$bad $f:$code"
done
[ -z "$bad" ]
check "restart: every function serves as before" $? "$bad"
req GET "/faas/slow?arg=0"
check "restart: the latest version serves" $([ "$body" = "version 2" ]; echo $?) "[$body]"

# ---- SIGTERM stops it cleanly -----------------------------------------------------------
# Waits for the exit up to 2 minutes (a bound only against a hang: past it,
# kill -9).
kill -TERM "$server_pid"
stopped=1
until=$((SECONDS + 120))
while [ $SECONDS -lt $until ]; do kill -0 "$server_pid" 2>/dev/null || { stopped=0; break; }; sleep 0.1; done
[ $stopped = 0 ] || kill -9 "$server_pid"
wait "$server_pid"; rc=$?
[ $stopped -eq 0 ] && [ $rc -eq 0 ]
check "SIGTERM: exits 0" $? "stopped=$stopped rc=$rc"
server_pid=

if [ $failed -ne 0 ]; then echo "  the server's stderr (last lines):" >&2; tail -n 40 "$tmp/err" >&2; fi
echo "tests/server/test_server.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]

#!/usr/bin/env bash
# A restart listens first (issue 14, "Restart"): the stored functions are
# prepared in the background, in parallel; a call of one still being
# prepared answers 503 "starting" with Retry-After (mote's error on /faas,
# OpenWhisk's on /api/v1), a function already prepared answers 200 meanwhile,
# and /healthz answers at once, "start": "starting" until every function is
# prepared, then "ready".
#
# programs/slowinit.c: its mote_init waits at gate "init-go" when its files
# hold "hold", which the test adds behind the server's back before the
# restart (--no-kept-snapshots: every mote_init runs again at the start). So
# the start is held exactly as long as the test needs, with no timing.
# usage: test_restart.sh BUILD_DIR
set -u
build=${1:-build}
test_name=restart
. "$(dirname "$0")/server_lib.sh"

clang-19 --target=wasm32-wasi -O2 "$(dirname "$0")/programs/slowinit.c" -o "$tmp/slowinit.wasm" ||
  { echo "clang-19 failed"; exit 1; }
gate_bundle "$tmp/slowinit.wasm" || { echo "cannot make the bundle"; exit 1; }

start_server 4
check "starts" $? "$(cat "$tmp/err")"
gate_deploy held
check "deploys held (a bundle)" $([ "$code" = 200 ] || [ "$code" = 201 ]; echo $?) "$code $body"
gate_deploy doomed
check "deploys doomed (the same bundle)" $([ "$code" = 200 ] || [ "$code" = 201 ]; echo $?) "$code $body"
deploy quick "$tmp/slowinit.wasm"
check "deploys quick (no files: never held)" $([ "$code" = 200 ] || [ "$code" = 201 ]; echo $?) "$code $body"
req GET /faas/held
[ "$code" = 200 ] && [ "$body" = ready ]
check "held answers before the restart" $? "$code $body"
stop_server

gate_open hold # from now on, every mote_init of the bundle waits for init-go
: >"$tmp/err"
start_wait= start_server 4 --no-kept-snapshots
check "listens while held and doomed are held in mote_init" $? "$(cat "$tmp/err")"

req GET /healthz
[ "$code" = 200 ] && [ "$(jget .status)" = ok ] && [ "$(jget .start)" = starting ]
check "/healthz answers at once: starting" $? "$code $body"
mreq GET /healthz
[ "$code" = 200 ] && [ "$(jget .start)" = starting ] && [ "$(jget .preparing)" = 2 ]
check "the operator's /healthz: 2 preparing" $? "$code $body"

# quick is prepared by a thread of its own (4 workers: 3 threads for 3
# versions); its state, polled: up to 2 minutes, a bound only against a hang.
until=$((SECONDS + 120))
while :; do
  req GET /faas/quick
  [ "$code" != 503 ] || [ $SECONDS -ge $until ] && break
  sleep 0.05
done
[ "$code" = 200 ] && [ "$body" = ready ]
check "a function already prepared answers 200 meanwhile" $? "$code $body"

req GET /faas/held
[ "$code" = 503 ] && [ "$(header Retry-After)" = 1 ] && [ "$(jget .code)" = starting ] &&
  [ "$(jget .retry_after_s)" = 1 ] && [[ "$(jget .error)" == *"being prepared"* ]]
check "a call of held: 503 starting, Retry-After" $? "$code $(header Retry-After) $body"
req GET /faas/guest/held
[ "$code" = 503 ] && [ "$(jget .code)" = starting ]
check "/faas/NS/NAME too" $? "$code $body"
req POST "/api/v1/namespaces/guest/actions/held?blocking=true&result=true"
[ "$code" = 503 ] && [ "$(header Retry-After)" = 1 ] && [[ "$(jget .code)" =~ ^[0-9a-f]{32}$ ]] &&
  [[ "$(jget .error)" == "The action guest/held is being prepared"* ]]
check "OpenWhisk's invoke: 503 in OpenWhisk's words, Retry-After" $? "$code $body"
req GET /v1/functions/held
[ "$code" = 200 ] && [ "$(jget .tier)" = preparing ]
check "/v1/functions/held: tier preparing" $? "$code $body"
req GET /faas/nosuch
[ "$code" = 404 ]
check "a function that is not stored is still 404" $? "$code $body"

# doomed is deleted while its mote_init is held: it must not come back.
req DELETE /v1/functions/doomed
check "doomed deleted while being prepared" $([ "$code" = 200 ] || [ "$code" = 204 ]; echo $?) "$code $body"
req GET /faas/doomed
[ "$code" = 404 ]
check "doomed, deleted, is 404 at once (not 503 starting while its preparation ends)" $? "$code $body"
req GET /v1/functions/doomed
[ "$code" = 404 ]
check "and its record is gone (404)" $? "$code $body"

gate_open init-go
until=$((SECONDS + 120))
while :; do
  req GET /healthz
  [ "$(jget .start)" = ready ] || [ $SECONDS -ge $until ] && break
  sleep 0.05
done
[ "$code" = 200 ] && [ "$(jget .start)" = ready ]
check "/healthz: ready once every function is prepared" $? "$code $body"
mreq GET /healthz
[ "$(jget .preparing)" = 0 ] && [ "$(jget .functions)" = 2 ]
check "the operator's /healthz: 0 preparing, 2 functions" $? "$body"
req GET /faas/held
[ "$code" = 200 ] && [ "$body" = ready ]
check "held answers 200 once prepared" $? "$code $body"
req POST "/api/v1/namespaces/guest/actions/held?blocking=true&result=true"
# it ran: it prints "ready", which is not the dictionary an action returns
[ "$code" = 502 ] && [ "$(jget .error)" = "The action did not return a dictionary." ]
check "and through OpenWhisk's invoke (it runs)" $? "$code $body"
req GET /faas/quick
[ "$code" = 200 ] && [ "$body" = ready ]
check "quick still answers" $? "$code $body"
req GET /faas/doomed
[ "$code" = 404 ]
check "doomed, deleted while prepared, is not served" $? "$code $body"
stop_server

echo "$test_name: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# OpenWhisk's invokes in the one queue of admission (issue 12): a call that
# was answered 202 runs, however long it waits for a slot (it used to wait
# in a queue of its own and then in admission, and ended as a "whisk internal
# error" at the queue timeout); a call the queue has no room for is the
# caller's 429 at once (it used to be a 202); a blocking invoke still
# waiting at the queue timeout is taken out and answered 429 queue_timeout.
# The one execution slot is held by a call that waits at a gate (a zip action
# of echo.wasm called with "gate"; server_lib.sh): every step depends on a
# state, none on a time.
# usage: test_ow_queue.sh BUILD_DIR
set -u
build=${1:-build}
test_name=owqueue
here=$(cd "$(dirname "$0")" && pwd)
. "$here/server_lib.sh"

clang-19 --target=wasm32-wasi -O2 "$here/../openwhisk/actions/echo.c" -o "$tmp/echo.wasm" &&
  gate_zip "$tmp/echo.wasm" || { echo "clang-19 or zip failed"; exit 1; }
A=/api/v1/namespaces/_
put_action() { # NAME FILE: with OpenWhisk's longest time limit (the gate's call waits)
  printf '{"exec":{"kind":"wasm:0.1","code":"%s"},"limits":{"timeout":300000}}' \
    "$(base64 -w0 "$2")" >"$tmp/put.json"
  req PUT "$A/actions/$1" -H 'Content-Type: application/json' --data-binary "@$tmp/put.json"
}
metric() { curl -s "$mbase/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# One worker; the queue holds 2 calls, 1 of one function; a call waits 1 s at most.
start_server 1 --cpu-quantum 0 --queue 2 --queue-timeout 1000
check "server starts" $? "$(cat "$tmp/err")"
put_action gate "$tmp/gate.zip" && [ "$code" = 200 ] && put_action e "$tmp/echo.wasm" &&
  [ "$code" = 200 ] && put_action e2 "$tmp/echo.wasm" && [ "$code" = 200 ]
check "three actions" $? "$code $body"
gate_of gate && [ -d "$gate_dir" ]
check "the gate's files directory" $? "$gate_dir"

# The gate takes the only slot and holds it (curl's bound only against a hang).
curl -s --max-time 600 -u "$dev_auth" -X POST -o "$tmp/gate.out" -w '%{http_code}' \
  -H 'Content-Type: application/json' --data-binary '{"gate":"release"}' \
  "$base$A/actions/gate?blocking=true&result=true" >"$tmp/gate.code" &
gate_pid=$!
wait_metric 'mote_workers{state="busy"}' 1
check "the gate holds the slot" $? "$(curl -s "$mbase/metrics" | grep mote_workers)"

# A non-blocking invoke waits in the queue: 202.
req POST "$A/actions/e" -H 'Content-Type: application/json' --data-binary '{"n":1}'
id1=$(jget .activationId)
[ "$code" = 202 ] && [[ "$id1" =~ ^[0-9a-f]{32}$ ]]
check "non-blocking with room in the queue: 202" $? "$code $body"
# The function's share of the queue is full: the caller's 429, not a 202.
req POST "$A/actions/e" -H 'Content-Type: application/json' --data-binary '{"n":2}'
[ "$code" = 429 ] && [[ "$(jget .code)" =~ ^[0-9a-f]{32}$ ]] &&
  [[ "$(jget .error)" == *function_queue_full* ]] && [[ "$(header Retry-After)" =~ ^[1-9][0-9]*$ ]]
check "non-blocking with no room: 429 at once, with Retry-After (as /faas)" $? "$code $body $(cat "$tmp/h")"
# A blocking invoke of another function waits, and at the queue timeout
# leaves the queue: 429 queue_timeout (the gate still holds the slot).
req POST "$A/actions/e2?blocking=true" -H 'Content-Type: application/json' --data-binary '{}'
[ "$code" = 429 ] && [[ "$(jget .error)" == *queue_timeout* ]] && [[ "$(header Retry-After)" =~ ^[1-9][0-9]*$ ]]
check "blocking still queued at the queue timeout: 429 queue_timeout, with Retry-After" $? "$code $body"
[ "$(metric 'mote_queue_depth')" = 1 ]
check "one call waits, the accepted one" $? "$(metric mote_queue_depth)"

# Let the gate go: it answers, and the accepted call runs after it, long
# past the queue timeout.
gate_open release
wait "$gate_pid"
[ "$(cat "$tmp/gate.code")" = 200 ] && [ "$(jq -r .params.gate "$tmp/gate.out")" = release ]
check "the gate answers once released" $? "$(cat "$tmp/gate.code") $(cat "$tmp/gate.out")"
# Its record is written once it ran: up to 2 minutes, a bound only against a hang.
until=$((SECONDS + 120))
while :; do
  req GET "$A/activations/$id1"
  [ "$code" = 200 ] || [ $SECONDS -ge $until ] && break
  sleep 0.05
done
[ "$code" = 200 ] && [ "$(jget .response.status)" = success ] &&
  [ "$(jget .response.result.params.n)" = 1 ]
check "the 202'd call ran to success (no whisk internal error)" $? "$code $body"
[ "$(metric 'mote_calls_refused_total{namespace="guest",function="e",reason="function_queue_full"}')" = 1 ] &&
  [ "$(metric 'mote_calls_refused_total{namespace="guest",function="e2",reason="queue_timeout"}')" = 1 ]
check "the refusals are counted" $? "$(curl -s "$mbase/metrics" | grep '^mote_calls_refused_total')"

echo "$0: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

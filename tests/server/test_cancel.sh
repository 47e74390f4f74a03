#!/usr/bin/env bash
# A call whose client has gone is cancelled (issue 14): a sleeping guest (at
# a gate: poll_oneoff), an endless loop, a call waiting for a slot, and an
# OpenWhisk web action (its reply is its run). Each
# ends "cancelled: client gone" (status 499) in its activation, is counted on
# /metrics, and frees its slot: the next call runs.
#
# States, not timings: one worker and no CPU quantum, so a running call holds
# the only slot until it ends; the client is killed once /metrics shows the
# state (a worker busy, a call waiting), and the test then waits for the
# cancel counter, and only then calls again.
# usage: test_cancel.sh BUILD_DIR
set -u
build=${1:-build}
test_name=cancel
. "$(dirname "$0")/server_lib.sh"

clang-19 --target=wasm32-wasi -O2 "$(dirname "$0")/programs/nap.c" -o "$tmp/nap.wasm" || { echo "clang-19 failed"; exit 1; }
cat >"$tmp/spin.c" <<'C'
int main(void) {
  volatile unsigned long n = 0;
  for (;;) n++;
}
C
clang-19 --target=wasm32-wasi -O2 "$tmp/spin.c" -o "$tmp/spin.wasm" || { echo "clang-19 failed"; exit 1; }
gate_bundle "$tmp/nap.wasm" || { echo "cannot make the bundle"; exit 1; }

# --head-timeout 2000: the connection sweeper (which sees clients gone) runs
# every 500 ms; the default (10 s) would make it every second.
start_server 1 --cpu-quantum 0 --queue 4 --queue-timeout 600000 --head-timeout 2000
check "server with one worker starts" $? "$(cat "$tmp/out" "$tmp/err")"
gate_deploy held "timeout=600000"; c1=$code
deploy spin "$tmp/spin.wasm" "timeout=600000"; c2=$code
deploy quick "$tmp/nap.wasm"; c3=$code
[ "$c1 $c2 $c3" = "201 201 201" ]
check "deploys" $? "$c1 $c2 $c3"

client=
# A call in the background whose client the test kills later.
bg_client() { # PATH (curl itself in the background, not a function's subshell: $! is curl)
  curl -u "$dev_auth" -s -o /dev/null --max-time 600 "$base$1" &
  client=$!
}
# The last activation of a function: "http_status outcome".
last_activation() { # FUNCTION
  req GET "/v1/activations?function=$1&limit=1"
  jget '.activations[0].http_status, .activations[0].outcome'
}
msample() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }' "$tmp/m"; }

# ---- a sleeping guest (WASI poll_oneoff in its gate's wait) -----------------------
bg_client "/faas/held?arg=gate&arg=never"
wait_metric 'mote_workers{state="busy"}' 1
check "the gated call holds the only worker" $? "$(grep -E '^mote_(workers|calls_alive)' "$tmp/m")"
kill -KILL "$client"; wait "$client" 2>/dev/null
wait_metric 'mote_calls_cancelled_total{when="running"}' 1
check "its client gone, the sleeping call is cancelled" $? "$(grep -E '^mote_calls_cancelled' "$tmp/m")"
wait_metric 'mote_workers{state="busy"}' 0
check "... and its slot is free" $? "$(grep -E '^mote_workers' "$tmp/m")"
req GET "/faas/quick?arg=1"
[ "$code" = 200 ] && [ "$body" = "quick done" ]
check "the next call runs: 200" $? "$code $body"
a=$(last_activation held)
[ "$a" = "499 cancelled: client gone" ]
check "the activation says cancelled: client gone (499)" $? "$a $body"

# ---- an endless loop -----------------------------------------------------------------
bg_client "/faas/spin"
wait_metric 'mote_workers{state="busy"}' 1
check "the endless loop holds the only worker" $? "$(grep -E '^mote_(workers|calls_alive)' "$tmp/m")"
kill -KILL "$client"; wait "$client" 2>/dev/null
wait_metric 'mote_calls_cancelled_total{when="running"}' 2
check "its client gone, the endless loop is cancelled" $? "$(grep -E '^mote_calls_cancelled' "$tmp/m")"
req GET "/faas/quick?arg=1"
[ "$code" = 200 ] && [ "$body" = "quick done" ]
check "the next call runs: 200" $? "$code $body"
a=$(last_activation spin)
[ "$a" = "499 cancelled: client gone" ]
check "the loop's activation says cancelled: client gone (499)" $? "$a $body"

# ---- a call waiting for a slot ---------------------------------------------------------
acurl -s -o "$tmp/keeper.b" --max-time 600 "$base/faas/held?arg=gate&arg=open1" &
keeper=$!
wait_metric 'mote_workers{state="busy"}' 1
bg_client "/faas/quick?arg=1"
wait_metric mote_queue_depth 1
check "a second call waits for the slot" $? "$(grep -E '^mote_(queue_depth|workers)' "$tmp/m")"
kill -KILL "$client"; wait "$client" 2>/dev/null
wait_metric 'mote_calls_cancelled_total{when="waiting"}' 1
check "its client gone, the waiting call is cancelled" $? "$(grep -E '^mote_calls_cancelled' "$tmp/m")"
[ "$(msample mote_queue_depth)" = 0 ] &&
  [ "$(msample 'mote_call_errors_total{namespace="guest",function="quick",class="cancelled"}')" = 1 ]
check "... it left the queue, counted as class cancelled" $? "$(grep -E '^mote_(queue_depth|call_errors_total.*quick)' "$tmp/m")"
gate_open open1
wait "$keeper"
[ "$(cat "$tmp/keeper.b")" = "held done" ]
check "the running call whose client stayed completes" $? "$(cat "$tmp/keeper.b")"
a=$(last_activation held)
[ "$a" = "200 ok" ]
check "... and its activation is 200 ok" $? "$a"
curl -s --max-time 20 "$mbase/metrics" >"$tmp/m"
[ "$(msample 'mote_calls_cancelled_total{when="running"}')" = 2 ] &&
  [ "$(msample 'mote_calls_cancelled_total{when="waiting"}')" = 1 ]
check "no other call was cancelled" $? "$(grep -E '^mote_calls_cancelled' "$tmp/m")"

# ---- an OpenWhisk web action (its reply is its run) ------------------------------------
clang-19 --target=wasm32-wasi -O2 "$(dirname "$0")/../openwhisk/actions/echo.c" -o "$tmp/echo.wasm" &&
  gate_zip "$tmp/echo.wasm" || { echo "clang-19 or zip failed"; exit 1; }
printf '{"exec":{"kind":"wasm:0.1","code":"%s"},"limits":{"timeout":300000},"annotations":[{"key":"web-export","value":true}]}' \
  "$(base64 -w0 "$tmp/gate.zip")" >"$tmp/put.json"
req PUT "/api/v1/namespaces/_/actions/wgate" -H 'Content-Type: application/json' --data-binary "@$tmp/put.json"
check "a web action at a gate" $([ "$code" = 200 ]; echo $?) "$code $body"
curl -s -o /dev/null --max-time 600 "$base/api/v1/web/guest/default/wgate.json?gate=never" &
client=$!
wait_metric 'mote_workers{state="busy"}' 1
check "the web action holds the only worker" $? "$(grep -E '^mote_(workers|calls_alive)' "$tmp/m")"
kill -KILL "$client"; wait "$client" 2>/dev/null
wait_metric 'mote_calls_cancelled_total{when="running"}' 3
check "its client gone, the web action's run is cancelled" $? "$(grep -E '^mote_calls_cancelled' "$tmp/m")"
a=$(last_activation wgate)
[ "$a" = "499 cancelled: client gone" ]
check "its activation says cancelled: client gone (499)" $? "$a $body"
req GET "/faas/quick?arg=1"
check "the next call runs: 200" $([ "$code" = 200 ]; echo $?) "$code $body"

stop_server
echo "tests/server/test_cancel.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

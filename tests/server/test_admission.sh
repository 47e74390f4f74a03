#!/usr/bin/env bash
# Admission control of `mote serve`: bounded queues (overall, per function,
# in time) answered with 429 + Retry-After, round-robin handover between
# functions, the queue gauges and 429 counters of /metrics, /healthz while
# every worker is busy, and the JSON access log.
#
# Outcomes, not timings: each step first drives the server into a state it
# can observe (a worker busy, N calls waiting, polled on /metrics), then
# asserts what a call meets in that state. The call that keeps the worker
# busy waits at a gate (server_lib.sh) that the step opens when it is done,
# so the state lasts as long as the step looks at it, however slow the
# machine.
# usage: test_admission.sh BUILD_DIR
set -u
build=${1:-build}
test_name=admission
. "$(dirname "$0")/server_lib.sh"

# tests/server/programs/nap.c: sleeps argv[1] ms (or waits at gate argv[2]),
# prints its name, exits argv[2] (argv[3]). Deployed as a bundle, for the gates.
clang-19 --target=wasm32-wasi -O2 "$(dirname "$0")/programs/nap.c" -o "$tmp/nap.wasm" || { echo "clang-19 failed"; exit 1; }
gate_bundle "$tmp/nap.wasm" || { echo "cannot make the bundle"; exit 1; }

bg_pids=
# A call in the background: $tmp/TAG.code (status), .h (headers), .b (body).
bg_call() { # TAG PATH
  acurl -s --max-time 600 -D "$tmp/$1.h" -o "$tmp/$1.b" -w '%{http_code}' "$base$2" >"$tmp/$1.code" &
  bg_pids="$bg_pids $!"
}
# The same in the foreground, for a call that is answered at once.
fg_call() { # TAG PATH
  acurl -s --max-time 600 -D "$tmp/$1.h" -o "$tmp/$1.b" -w '%{http_code}' "$base$2" >"$tmp/$1.code"
}
bg_wait() { for p in $bg_pids; do wait "$p"; done; bg_pids=; }
bg_code() { cat "$tmp/$1.code" 2>/dev/null; }
bg_header() { sed -nE "s/^$2: ([^\r]*)\r?$/\1/Ip" "$tmp/$1.h"; }
bg_json() { jq -r "$2" "$tmp/$1.b" 2>/dev/null; }
msample() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }' "$tmp/m"; }
# A refused call: 429, the code, Retry-After an integer >= 1 equal to retry_after_s.
is_429() { # TAG CODE
  local ra; ra=$(bg_header "$1" Retry-After)
  [ "$(bg_code "$1")" = 429 ] && [ "$(bg_json "$1" .code)" = "$2" ] && [[ "$ra" =~ ^[0-9]+$ ]] \
    && [ "$ra" -ge 1 ] && [ "$(bg_json "$1" .retry_after_s)" = "$ra" ] && [ -n "$(bg_json "$1" .error)" ]
}

# ---- one worker, a queue of two ------------------------------------------------
# (A queue timeout of 10 minutes: calls queued behind a gate wait for the
# step, however slow, never for a clock.)
start_server 1 --cpu-quantum 0 --queue 2 --queue-timeout 600000 --access-log "$tmp/access.log"
check "server starts with --queue and --access-log" $? "$(cat "$tmp/out" "$tmp/err")"

gate_deploy slow "max_queue=5"; c1=$code; mq1=$(jget .settings.max_queue)
gate_deploy other; c2=$code; mq2=$(jget .settings.max_queue)
gate_deploy one "max_queue=1"; c3=$code
gate_deploy lim "concurrency=1"; c4=$code
[ "$c1 $c2 $c3 $c4" = "201 201 201 201" ] && [ "$mq1" = 5 ] && [ "$mq2" = 1 ]
check "deploy with max_queue; the default is half the queue" $? "$c1 $c2 $c3 $c4 $mq1 $mq2"
req GET /v1/functions/slow
check "max_queue is returned by GET" $([ "$(jget .settings.max_queue)" = 5 ]; echo $?) "$body"
deploy bad "$tmp/nap.wasm" "max_queue=lots"
[ "$code" = 400 ] && [ "$(jget .code)" = bad_setting ] && [[ "$(jget .error)" == *max_queue* ]]
check "a bad max_queue: 400 naming it" $? "$code $body"
deploy bad "$tmp/nap.wasm" "max_queue=100001"
check "max_queue over 100000: 400" $([ "$code" = 400 ]; echo $?) "$code $body"

# The worker busy, the queue full (two calls of slow wait), then more calls.
bg_call run "/faas/slow?arg=gate&arg=full"
wait_metric 'mote_workers{state="busy"}' 1
bg_call q1 "/faas/slow?arg=10"
bg_call q2 "/faas/slow?arg=10"
wait_metric mote_queue_depth 2
check "metrics: the queue depth overall and per function" \
  $([ "$(msample 'mote_function_queue_depth{namespace="guest",function="slow"}')" = 2 ] \
    && [ "$(msample mote_queue_capacity)" = 2 ]; echo $?) "$(grep -E '^mote_(queue|function_queue|workers)' "$tmp/m")"
fg_call full1 "/faas/slow?arg=10"
fg_call full2 "/faas/other?arg=10"
# /healthz and the API answer while the worker is busy and the queue full.
req GET /healthz; hz=$code
req GET /v1/functions/slow; api=$code
is_429 full1 queue_full; r1=$?
is_429 full2 queue_full; r2=$?
[ $r1 = 0 ] && [ $r2 = 0 ]
check "full queue: 429 queue_full with Retry-After, whatever the function" $? \
  "$(bg_code full1) $(cat "$tmp/full1.b") $(bg_code full2) $(cat "$tmp/full2.b") $(cat "$tmp/full1.h")"
[ "$hz" = 200 ] && [ "$api" = 200 ]
check "/healthz and the API answer while every worker is busy" $? "$hz $api"
gate_open full
bg_wait
[ "$(bg_code run) $(bg_code q1) $(bg_code q2)" = "200 200 200" ] && [ "$(cat "$tmp/q1.b")" = "slow done" ]
check "the running and the queued calls complete" $? "$(bg_code run) $(bg_code q1) $(bg_code q2)"
w=$(bg_header q1 X-Mote-Wait-Us)
[[ "$w" =~ ^[0-9]+$ ]] && [ "$w" -gt 0 ]
check "a queued call reports its wait" $? "$w"

# Per function: "one" may have one call waiting; its second waiting call is
# refused while the queue still has room, and another function gets it.
bg_call run "/faas/one?arg=gate&arg=one"
wait_metric 'mote_workers{state="busy"}' 1
bg_call oq1 "/faas/one?arg=10"
wait_metric 'mote_function_queue_depth{namespace="guest",function="one"}' 1
fg_call oq2 "/faas/one?arg=10"
bg_call b "/faas/other?arg=10"
wait_metric mote_queue_depth 2
gate_open one
bg_wait
is_429 oq2 function_queue_full
check "the function's queue full: 429 function_queue_full" $? "$(bg_code oq2) $(cat "$tmp/oq2.b")"
[ "$(bg_code run) $(bg_code oq1) $(bg_code b)" = "200 200 200" ] && [ "$(cat "$tmp/b.b")" = "other done" ]
check "the other function still queues and is served" $? "$(bg_code run) $(bg_code oq1) $(bg_code b)"

# The concurrency limit (calls running or waiting) answers with Retry-After too.
bg_call run "/faas/lim?arg=gate&arg=lim"
wait_metric 'mote_function_calls_running{namespace="guest",function="lim"}' 1
fg_call over "/faas/lim?arg=10"
gate_open lim
bg_wait
is_429 over concurrency_limit
check "concurrency limit: 429 concurrency_limit with Retry-After" $? "$(bg_code over) $(cat "$tmp/over.b")"

curl -s --max-time 20 "$mbase/metrics" >"$tmp/m"
[ "$(msample 'mote_calls_refused_total{namespace="guest",function="slow",reason="queue_full"}')" = 1 ] \
  && [ "$(msample 'mote_calls_refused_total{namespace="guest",function="other",reason="queue_full"}')" = 1 ] \
  && [ "$(msample 'mote_calls_refused_total{namespace="guest",function="one",reason="function_queue_full"}')" = 1 ] \
  && [ "$(msample 'mote_calls_refused_total{namespace="guest",function="lim",reason="concurrency_limit"}')" = 1 ] \
  && [ "$(msample 'mote_calls_refused_total{namespace="guest",function="slow",reason="queue_timeout"}')" = 0 ] \
  && [ "$(msample 'mote_calls_total{namespace="guest",function="slow",status="429"}')" = 1 ] \
  && [ "$(msample mote_queue_depth)" = 0 ] && [ "$(msample 'mote_workers{state="busy"}')" = 0 ]
check "metrics: 429s by function and reason; the queue empty again" $? \
  "$(grep -E '^mote_(calls_refused|queue_depth|workers)' "$tmp/m")"

# Stopping (SIGTERM) drains the access log.
kill -TERM "$server_pid"; wait "$server_pid"; server_pid=

# ---- the access log --------------------------------------------------------------
log="$tmp/access.log"
n=$(wc -l <"$log")
bad=$(jq -c 'select((.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$") | not)
                     or (.remote | test("^127\\.0\\.0\\.1:[0-9]+$") | not)
                     or (.method | type) != "string" or (.path | type) != "string"
                     or (.status | type) != "number" or (.bytes | type) != "number"
                     or (.duration_us | type) != "number")' "$log" 2>&1)
[ "$n" -gt 10 ] && [ -z "$bad" ] && [ "$(jq -s length "$log")" = "$n" ]
check "access log: one JSON object per line with the common fields" $? "$n lines; $bad"
ok_call=$(jq -c 'select(.path == "/faas/slow" and .status == 200)' "$log" | head -1)
printf '%s' "$ok_call" | jq -e '.function == "slow" and .version == 1 and (.activation_id | test("^[0-9a-f]{32}$"))
  and (.wait_us | type) == "number" and (.init_us | type) == "number" and (.exec_us | type) == "number"
  and .bytes == 10 and .method == "GET" and (has("code") | not)' >/dev/null
check "access log: a call carries function, version, activation id, wait/init/exec" $? "$ok_call"
[ "$(jq -r 'select(.status == 429) | .code' "$log" | sort | tr '\n' ' ')" = \
  "concurrency_limit function_queue_full queue_full queue_full " ]
check "access log: each 429 with its code" $? "$(jq -c 'select(.status == 429)' "$log")"
# jq -s: with one input per line, jq -e's status is that of the last line alone.
jq -s -e '(map(select(.path == "/healthz")) | length > 0 and all(.status == 200))
  and (map(select(.method == "PUT" and .path == "/v1/functions/bad")) | length == 2 and all(.status == 400))
  and (map(select(.path == "/metrics")) | length == 0)' "$log" >/dev/null
check "access log: every route (healthz, API); the scrapes of the operator's address are not logged" $? "$(jq -c 'select(.function == null)' "$log" | head -5)"
! grep -q 'arg=\|max_queue=' "$log"
check "access log: paths without their query" $? "$(grep -m2 'arg=\|max_queue=' "$log")"

# ---- round-robin handover, the queue timeout ------------------------------------
# The same data, one worker, room for 16 waiting calls (8 per function).
start_server 1 --cpu-quantum 0 --queue 16 --queue-timeout 600000
check "server restarts with the functions" $? "$(cat "$tmp/err")"
# While one call of other runs, six more of other queue up, then one of slow:
# round-robin gives slow the second slot that frees (the function ahead of it
# in the ring, other, gets the first), where first-come-first-served would
# have run it after all six.
bg_call run "/faas/other?arg=gate&arg=flood"
wait_metric 'mote_workers{state="busy"}' 1
for i in 1 2 3 4 5 6; do bg_call "a$i" "/faas/other?arg=20"; done
wait_metric 'mote_function_queue_depth{namespace="guest",function="other"}' 6
bg_call fair "/faas/slow?arg=10"
wait_metric mote_queue_depth 7
gate_open flood
bg_wait
all=$(for t in run a1 a2 a3 a4 a5 a6 fair; do echo "$(bg_code $t)"; done | tr "\n" " ")
[ "$all" = "200 200 200 200 200 200 200 200 " ]
check "a flood on one function: every call served in the end" $? "$all"
req GET "/v1/activations?limit=8"
order=$(jget '[.activations | sort_by(.start_ms) | .[].function] | join(",")')
[ "$order" = "other,other,slow,other,other,other,other,other" ]
check "round-robin: the flooded function gets one more slot, then the other runs" $? "$order"

# A call that finds no slot within --queue-timeout.
stop_server
start_server 1 --cpu-quantum 0 --queue-timeout 300
check "server starts with --queue-timeout 300" $? "$(cat "$tmp/err")"
bg_call run "/faas/slow?arg=gate&arg=late"
wait_metric 'mote_workers{state="busy"}' 1
fg_call late "/faas/other?arg=10"
curl -s --max-time 20 "$mbase/metrics" >"$tmp/m"
gate_open late
bg_wait
is_429 late queue_timeout && [ "$(bg_header late X-Mote-Wait-Us)" -ge 300000 ]
check "queue timeout: 429 queue_timeout with Retry-After and the wait" $? \
  "$(bg_code late) $(cat "$tmp/late.b") $(bg_header late X-Mote-Wait-Us)"
[ "$(msample 'mote_calls_refused_total{namespace="guest",function="other",reason="queue_timeout"}')" = 1 ] \
  && [ "$(bg_code run)" = 200 ]
check "metrics: the timeout counted; the running call unharmed" $? "$(grep queue_timeout "$tmp/m") $(bg_code run)"

# Options are checked.
"$mote" serve --queue 0 >/dev/null 2>"$tmp/opt.err"; rc1=$?
"$mote" serve --queue-timeout x >/dev/null 2>>"$tmp/opt.err"; rc2=$?
"$mote" serve --access-log /nonexistent/dir/log --data "$tmp/data2" --listen 127.0.0.1:0 >/dev/null 2>>"$tmp/opt.err"; rc3=$?
[ $rc1 = 64 ] && [ $rc2 = 64 ] && [ $rc3 != 0 ] && grep -q "cannot open the access log" "$tmp/opt.err"
check "bad --queue, --queue-timeout, --access-log are refused" $? "$rc1 $rc2 $rc3 $(cat "$tmp/opt.err")"

stop_server
echo "tests/server/test_admission.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

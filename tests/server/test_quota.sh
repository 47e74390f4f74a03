#!/usr/bin/env bash
# Per-namespace limits (429 with OpenWhisk's messages) and accounting
# (GET /v1/usage, the mote_usage_* families of /metrics) of `mote serve`,
# end to end. Outcomes, not timings: the concurrency step first observes a
# call in flight on /metrics, held there by a gate (server_lib.sh) until the
# step is done, then asserts what the next call meets.
# usage: test_quota.sh BUILD_DIR
set -u
build=${1:-build}
test_name=quota
. "$(dirname "$0")/server_lib.sh"

# tests/server/programs/nap.c: sleeps argv[1] ms (or waits at gate argv[2]),
# prints its name, exits argv[2] (argv[3]).
clang-19 --target=wasm32-wasi -O2 "$(dirname "$0")/programs/nap.c" -o "$tmp/nap.wasm" || { echo "clang-19 failed"; exit 1; }
gate_bundle "$tmp/nap.wasm" || { echo "cannot make the bundle"; exit 1; }

# ---- invocations per minute ------------------------------------------------
start_server 4 --ns-invocations-per-minute 3
check "server starts with --ns-invocations-per-minute" $? "$(cat "$tmp/err")"
deploy nap "$tmp/nap.wasm" "public=true&memory=64"
check "deploy" "$([ "$code" = 201 ] && echo 0 || echo 1)" "$code $body"
codes=
for i in 1 2 3; do req GET "/faas/nap?arg=0"; codes="$codes$code "; done
[ "$codes" = "200 200 200 " ]
check "three calls within the limit" $? "$codes"
req GET "/faas/nap?arg=0"
ra=$(header Retry-After)
[ "$code" = 429 ] && [ "$(jget .code)" = namespace_rate ] \
  && [ "$(jget .error)" = "Too many requests in the last minute (count: 3, allowed: 3)." ] \
  && [[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && [ "$ra" -le 60 ]
check "the fourth: 429, OpenWhisk's message, Retry-After within the minute" $? "$code ra=$ra $body"

# A failing call counts as an error; usage is the caller's namespace's.
# SIGTERM: a clean stop writes the last deltas (kill -9 may lose the last
# second's, as documented).
kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=
start_server 4
req GET "/faas/nap?arg=0&arg=3"
check "a failing call is a 502" "$([ "$code" = 502 ] && echo 0 || echo 1)" "$code $body"
req_as "" GET /v1/usage
check "usage needs a key" "$([ "$code" = 401 ] && echo 0 || echo 1)" "$code $body"
req GET /v1/usage
[ "$code" = 200 ] && [ "$(jget .namespace)" = guest ] \
  && [ "$(jget '.functions[0].function, .functions[0].invocations, .functions[0].errors, .functions[0].refused')" = "nap 4 1 1" ] \
  && [ "$(jget '.total.invocations, .total.errors')" = "4 1" ]
check "usage: 4 ran (1 failed), 1 refused, across a restart" $? "$code $body"
gbs=$(jget '.functions[0].gb_seconds'); ex=$(jget '.functions[0].exec_seconds')
awk -v g="$gbs" -v e="$ex" 'BEGIN { exit !(e > 0 && g > 0 && (g - e * 64 / 1024) ^ 2 < 1e-12) }'
check "gb_seconds = 64 MiB / 1024 x exec_seconds" $? "gb=$gbs exec=$ex"
req GET "/v1/usage?function=other"
[ "$code" = 200 ] && [ "$(jget '.functions | length')" = 0 ] && [ "$(jget .total.invocations)" = 0 ]
check "usage filtered by function" $? "$body"
req GET "/v1/usage?fn=x"
check "usage: unknown parameter is a 400" "$([ "$code" = 400 ] && echo 0 || echo 1)" "$code $body"
curl -s "$mbase/metrics" >"$tmp/m"
grep -qx 'mote_usage_invocations_total{namespace="guest",function="nap"} 4' "$tmp/m" \
  && grep -qx 'mote_usage_errors_total{namespace="guest",function="nap"} 1' "$tmp/m" \
  && grep -qx 'mote_usage_refused_total{namespace="guest",function="nap"} 1' "$tmp/m" \
  && grep -q '^mote_usage_gb_seconds_total{namespace="guest",function="nap"} [0-9.e-]*$' "$tmp/m"
check "/metrics exports the accounting" $? "$(grep mote_usage "$tmp/m")"

MOTE_AUTH="$dev_auth" "$mote" usage --server "$base" >"$tmp/u.out" 2>&1
grep -qE '^nap	4	1	1	' "$tmp/u.out" && grep -qE '^\(namespace guest\)	4	1	1	' "$tmp/u.out"
check "mote usage prints the table and the total" $? "$(cat "$tmp/u.out")"
"$mote" usage --server "$base" >/dev/null 2>&1
check "mote usage without a key exits 77" "$([ $? = 77 ] && echo 0 || echo 1)" ""

# Another namespace sees only its own usage.
"$mote" keys create other --data "$tmp/data" >"$tmp/key" 2>/dev/null
other=$(sed -nE 's/^([0-9a-f-]{36}:[A-Za-z0-9]{64})$/\1/p' "$tmp/key" | head -1)
[ -z "$other" ] && other=$(grep -oE '[0-9a-f-]{36}:[A-Za-z0-9]{64}' "$tmp/key" | head -1)
req_as "$other" GET /v1/usage
[ "$code" = 200 ] && [ "$(jget .namespace)" = other ] && [ "$(jget '.functions | length')" = 0 ]
check "another namespace's usage is empty" $? "$code $body key=$other"

# ---- concurrent invocations, set for the namespace -------------------------
stop_server
"$mote" namespaces limits guest --concurrent 1 --data "$tmp/data" >/dev/null
check "mote namespaces limits sets it" $? ""
start_server 4
gate_deploy held "public=true"
check "deploy a function with a gate" "$([ "$code" = 201 ] && echo 0 || echo 1)" "$code $body"
curl -s --max-time 600 -o "$tmp/slow.b" -w '%{http_code}' "$base/faas/held?arg=gate&arg=held" >"$tmp/slow.code" &
slow=$!
wait_metric 'mote_function_calls_running{namespace="guest",function="held"}' 1
check "a call holds its slot" $? ""
req GET "/faas/nap?arg=0"
[ "$code" = 429 ] && [ "$(jget .code)" = namespace_concurrency ] \
  && [ "$(jget .error)" = "Too many concurrent requests in flight (count: 1, allowed: 1)." ] \
  && [ "$(header Retry-After)" = 1 ]
check "a second call while one runs: 429 (namespace concurrency 1)" $? "$code $body"
gate_open held
wait "$slow"
[ "$(cat "$tmp/slow.code")" = 200 ]
check "the running call finishes" $? "$(cat "$tmp/slow.code")"
req GET "/faas/nap?arg=0"
check "after it, calls pass again" "$([ "$code" = 200 ] && echo 0 || echo 1)" "$code $body"
"$mote" namespaces --data "$tmp/data" | grep -qE '^guest[[:space:]]+[0-9]+[[:space:]]+default[[:space:]]+1[[:space:]]'
check "mote namespaces shows the limits" $? "$("$mote" namespaces --data "$tmp/data")"

echo "$(basename "$0"): $passed passed, $failed failed"
[ "$failed" -eq 0 ]

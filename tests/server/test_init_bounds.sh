#!/usr/bin/env bash
# mote_init with bounds (issue 14): the node's init memory (--init-memory)
# refuses a deploy whose initialisation may not fit (507 init_memory_full);
# one snapshot per version once its opt tier serves (the quick one goes);
# a deploy's initialisation takes an execution slot (it waits in the queue
# behind a busy worker) and is stopped when its client goes away (while it
# waits for the slot, and while it runs).
#
# States, not timings: /metrics gauges, gates (server_lib.sh), killed clients.
# usage: test_init_bounds.sh BUILD_DIR
set -u
build=${1:-build}
test_name=init-bounds
. "$(dirname "$0")/server_lib.sh"
here=$(dirname "$0")

clang-19 --target=wasm32-wasi -O2 -DFILL_MB=40 "$here/programs/fill.c" -o "$tmp/fill.wasm" || { echo "clang-19 failed"; exit 1; }
clang-19 --target=wasm32-wasi -O2 -I"$here/programs" "$here/programs/slowinit.c" -o "$tmp/slowinit.wasm" || { echo "clang-19 failed"; exit 1; }
clang-19 --target=wasm32-wasi -O2 "$here/programs/nap.c" -o "$tmp/nap.wasm" || { echo "clang-19 failed"; exit 1; }
msample() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }' "$tmp/m"; }
mib() { echo $(( ($1 + 1048575) / 1048576 )); } # bytes -> MiB, rounded up

# ---- one snapshot per version, seen by the kernel -------------------------------------
# (No new flag, so that main's server runs this too.) The snapshots' images
# are memfds mapped by the server: its RssShmem holds them. Once the opt tier
# serves, one 40 MiB image is left (two before: one per tier).
start_server 2
check "server starts" $? "$(cat "$tmp/out" "$tmp/err")"
deploy fill0 "$tmp/fill.wasm" "memory=64"; c=$code
wait_opt fill0
req GET /faas/fill0
shm=$(awk '/^RssShmem:/ { print int($2 / 1024) }' "/proc/$server_pid/status")
[ "$c" = 201 ] && [ "$code" = 200 ] && [ -n "$shm" ] && [ "$shm" -ge 38 ] && [ "$shm" -lt 70 ]
check "after the opt tier is built: one 40 MiB image mapped (was two: 80 MiB)" $? "$c $code RssShmem ${shm} MiB"
stop_server
rm -rf "$tmp/data" # the next server starts empty

# ---- the budget, and one snapshot per version ------------------------------------------
# 150 MiB: fill (40 MiB in mote_init, memory=64) fits with its opt build's
# transient second image (64 reserved), and a second one too; then a
# deploy that may keep 100 MiB does not.
start_server 2 --init-memory 150
check "server starts with --init-memory" $? "$(cat "$tmp/out" "$tmp/err")"
curl -s --max-time 20 "$mbase/metrics" >"$tmp/m"
[ "$(msample 'mote_init_memory_bytes{state="capacity"}')" = $((150 << 20)) ] &&
  [ "$(msample 'mote_init_memory_bytes{state="used"}')" = 0 ]
check "metrics: init memory capacity 150 MiB, none used" $? "$(grep '^mote_init_memory' "$tmp/m")"

deploy fill1 "$tmp/fill.wasm" "memory=64"; c=$code
wait_opt fill1
req GET /v1/functions/fill1; tier="$(jget .tier) $(jget .opt_tier)"
[ "$c" = 201 ] && [ "$tier" = "opt ready" ]
check "a function filling 40 MiB in mote_init deploys; its opt tier serves" $? "$c $tier $body"
curl -s --max-time 20 "$mbase/metrics" >"$tmp/m"
used1=$(msample 'mote_init_memory_bytes{state="used"}')
[ "$used1" != missing ] && [ "$(mib "$used1")" -ge 40 ] && [ "$(mib "$used1")" -le 48 ] &&
  [ "$(msample 'mote_init_memory_bytes{state="reserved"}')" = 0 ]
check "one snapshot of 40 MiB is charged once its opt tier serves (was one per tier)" $? \
  "$(grep '^mote_init_memory' "$tmp/m")"
req GET /faas/fill1
[ "$code" = 200 ] && [ "$body" = "$(( (12345 * 7 + 1) % 256 ))" ]
check "a call runs from the snapshot" $? "$code $body"

deploy fill2 "$tmp/fill.wasm" "memory=64"; c=$code
wait_opt fill2
curl -s --max-time 20 "$mbase/metrics" >"$tmp/m"
used2=$(msample 'mote_init_memory_bytes{state="used"}')
[ "$c" = 201 ] && [ "$used2" != missing ] && [ "$(mib "$used2")" -le $(( 2 * $(mib "$used1") )) ]
check "a second one: two snapshots" $? "$c $(grep '^mote_init_memory' "$tmp/m")"

deploy fill3 "$tmp/fill.wasm" "memory=100"
[ "$code" = 507 ] && [ "$(jget .code)" = init_memory_full ] &&
  [[ "$(jget .error)" == *"--init-memory"* ]] && [[ "$(jget .error)" == *"100 MiB"* ]]
check "a deploy whose mote_init may keep 100 MiB more: 507 init_memory_full, with the figures" $? "$code $body"
req GET /v1/functions/fill3
check "... and nothing of it is stored" $([ "$code" = 404 ]; echo $?) "$code $body"
deploy small "$tmp/fill.wasm" "memory=48"
check "one that may keep 48 MiB still fits: 201" $([ "$code" = 201 ]; echo $?) "$code $body"
req DELETE /v1/functions/fill1
wait_opt small
curl -s --max-time 20 "$mbase/metrics" >"$tmp/m"
used3=$(msample 'mote_init_memory_bytes{state="used"}')
[ "$used3" != missing ] && [ "$(mib "$used3")" -le $(( 2 * $(mib "$used1") )) ]
check "a deleted function's snapshot is given back" $? "$(grep '^mote_init_memory' "$tmp/m")"
deploy fill3 "$tmp/fill.wasm" "memory=64"
check "then a deploy that did not fit does: 201" $([ "$code" = 201 ]; echo $?) "$code $body"
stop_server

# ---- inits take a slot, and stop with their deploy ----------------------------------
start_server 1 --cpu-quantum 0 --queue 4 --queue-timeout 600000 --head-timeout 2000
check "server with one worker starts" $? "$(cat "$tmp/out" "$tmp/err")"
gate_bundle "$tmp/nap.wasm" || { echo "cannot make the bundle"; exit 1; }
gate_deploy held; c=$code
[ "$c" = 201 ]
check "deploy of the gated function" $? "$c $body"
acurl -s -o "$tmp/held.b" --max-time 600 "$base/faas/held?arg=gate&arg=go1" &
holder=$!
wait_metric 'mote_workers{state="busy"}' 1
check "a call holds the only worker" $? "$(grep -E '^mote_workers' "$tmp/m")"
curl -u "$dev_auth" -s -o "$tmp/d1.b" -w '%{http_code}' --max-time 600 -X PUT \
  -H 'Content-Type: application/wasm' --data-binary "@$tmp/nap.wasm" "$base/v1/functions/later" >"$tmp/d1.code" &
d1=$!
wait_metric mote_queue_depth 1
check "a deploy's initialisation waits for the slot (was: ran beside it)" $? "$(grep -E '^mote_(queue_depth|workers)' "$tmp/m")"
gate_open go1
wait "$d1" "$holder"
[ "$(cat "$tmp/d1.code")" = 201 ] && [ "$(cat "$tmp/held.b")" = "held done" ]
check "once the slot is free the deploy completes: 201" $? "$(cat "$tmp/d1.code") $(cat "$tmp/d1.b")"

# Abandoned while waiting for the slot.
acurl -s -o /dev/null --max-time 600 "$base/faas/held?arg=gate&arg=go2" &
holder=$!
wait_metric 'mote_workers{state="busy"}' 1
curl -s --max-time 20 "$mbase/metrics" >"$tmp/m"; refused0=$(msample 'mote_deploys_total{result="refused"}')
curl -u "$dev_auth" -s -o /dev/null --max-time 600 -X PUT -H 'Content-Type: application/wasm' \
  --data-binary "@$tmp/nap.wasm" "$base/v1/functions/gone1" &
d2=$!
wait_metric mote_queue_depth 1
kill -KILL "$d2"; wait "$d2" 2>/dev/null
wait_metric mote_queue_depth 0
check "its client gone, the waiting initialisation leaves the queue" $? "$(grep -E '^mote_(queue_depth|workers)' "$tmp/m")"
wait_metric 'mote_deploys_total{result="refused"}' $((refused0 + 1))
check "... the deploy is refused" $? "$(grep -E '^mote_deploys' "$tmp/m")"
req GET /v1/functions/gone1
check "... and not stored" $([ "$code" = 404 ]; echo $?) "$code $body"
gate_open go2
wait "$holder"

# Abandoned while its mote_init runs (it waits at gate init-go, which never opens).
mkdir -p "$tmp/slow.d" && cp "$tmp/slowinit.wasm" "$tmp/slow.d/main.wasm" && echo hold >"$tmp/slow.d/hold" &&
  tar czf "$tmp/slow.tgz" -C "$tmp/slow.d" .
curl -u "$dev_auth" -s -o /dev/null --max-time 600 -X PUT -H 'Content-Type: application/gzip' \
  --data-binary "@$tmp/slow.tgz" "$base/v1/functions/gone2" &
d3=$!
wait_metric 'mote_workers{state="busy"}' 1
check "a deploy's mote_init holds the only worker while it runs" $? "$(grep -E '^mote_workers' "$tmp/m")"
kill -KILL "$d3"; wait "$d3" 2>/dev/null
wait_metric 'mote_workers{state="busy"}' 0
check "its client gone, the running mote_init is stopped and the slot is free" $? "$(grep -E '^mote_workers' "$tmp/m")"
wait_metric 'mote_deploys_total{result="refused"}' $((refused0 + 2))
check "... the deploy is refused" $? "$(grep -E '^mote_deploys' "$tmp/m")"
req GET /v1/functions/gone2
check "... and not stored" $([ "$code" = 404 ]; echo $?) "$code $body"
req GET "/faas/later"
[ "$code" = 200 ] && [ "$body" = "later done" ]
check "calls run again" $? "$code $body"

stop_server
echo "tests/server/test_init_bounds.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# GET /metrics (Prometheus text format 0.0.4) of a real `mote serve`: the
# counters and histograms of a few calls, the gauges, the format line by line;
# served on the operator's address (--metrics-listen) only, never on the
# public one, with or without a key.
# usage: test_metrics.sh BUILD_DIR
set -u
build=${1:-build}
test_name=metrics
. "$(dirname "$0")/server_lib.sh"
# The value of one sample of the last /metrics body: metric{labels} exactly as printed.
sample() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }' "$tmp/b"; }

cat >"$tmp/hi.wat" <<'W'
(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 16) "hi from wat\n")
  (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 12))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
W
cat >"$tmp/trap.wat" <<'W'
(module (memory (export "memory") 1) (func (export "_start") unreachable))
W
wat2wasm "$tmp/hi.wat" -o "$tmp/hi.wasm" && wat2wasm "$tmp/trap.wat" -o "$tmp/trap.wasm" \
  || { echo "wat2wasm failed"; exit 1; }
echo "not a module" >"$tmp/junk.wasm"

start_server 2
check "server starts and prints its port" $? "$(cat "$tmp/out" "$tmp/err")"

mreq GET /metrics
[ "$code" = 200 ] && [ "$(header Content-Type)" = "text/plain; version=0.0.4" ] \
  && [ "$(sample mote_functions)" = 0 ] && [ "$(sample 'mote_deploys_total{result="ok"}')" = 0 ] \
  && [ "$(sample 'mote_store_swept_total{kind="file_set"}') $(sample mote_store_swept_bytes_total)" = "0 0" ]
check "metrics of an empty server: 200, the content type, zero gauges and counters" $? "$code $(header Content-Type) $body"

deploy hi "$tmp/hi.wasm"; c1=$code
deploy boom "$tmp/trap.wasm"; c2=$code
deploy bad "$tmp/junk.wasm"; c3=$code
req PUT /v1/functions/x -H 'Content-Type: text/plain' --data-binary "@$tmp/hi.wasm"; c4=$code
[ "$c1 $c2 $c3 $c4" = "201 201 400 415" ]
check "deploys: two ok, two refused" $? "$c1 $c2 $c3 $c4"

oks=0
for _ in 1 2 3 4 5; do req GET /faas/hi; [ "$code" = 200 ] && oks=$((oks + 1)); done
req GET /faas/boom; c_trap=$code
req GET /faas/nosuch; c_missing=$code
[ "$oks" = 5 ] && [ "$c_trap" = 502 ] && [ "$c_missing" = 404 ]
check "calls: five ok, one trap, one unknown" $? "$oks $c_trap $c_missing"

mreq GET /metrics
m200=$(sample 'mote_calls_total{namespace="guest",function="hi",status="200"}')
m502=$(sample 'mote_calls_total{namespace="guest",function="boom",status="502"}')
[ "$code" = 200 ] && [ "$m200" = 5 ] && [ "$m502" = 1 ]
check "mote_calls_total by function and status" $? "$m200 $m502"

e_ok=$(sample 'mote_call_errors_total{namespace="guest",function="hi",class="ok"}')
e_trap=$(sample 'mote_call_errors_total{namespace="guest",function="boom",class="trap"}')
e_hitrap=$(sample 'mote_call_errors_total{namespace="guest",function="hi",class="trap"}')
e_over=$(sample 'mote_call_errors_total{namespace="guest",function="boom",class="overload"}')
[ "$e_ok $e_trap $e_hitrap $e_over" = "5 1 0 0" ]
check "mote_call_errors_total by class" $? "$e_ok $e_trap $e_hitrap $e_over"

! grep -q 'function="nosuch"' "$tmp/b"
check "an unknown function gets no series" $? "$(grep nosuch "$tmp/b")"

[ "$(sample 'mote_deploys_total{result="ok"}') $(sample 'mote_deploys_total{result="refused"}')" = "2 2" ]
check "mote_deploys_total" $? "$(grep '^mote_deploys_total' "$tmp/b")"

[ "$(sample mote_functions)" = 2 ] && [ "$(sample mote_calls_in_flight)" = 0 ] \
  && [ "$(sample mote_process_resident_bytes)" -gt 1000000 ] \
  && [ "$(sample 'mote_memory_pool_slots{state="free"}')" != missing ] \
  && [ "$(sample 'mote_memory_pool_slots{state="in_use"}')" = 0 ]
check "gauges: functions, in flight, resident bytes, memory pool" $? \
  "$(grep -E '^mote_(functions|calls_in_flight|process|memory_pool)' "$tmp/b")"

# Histograms: cumulative, monotone, +Inf last and equal to _count = calls.
hist_ok=0; hist_msg=
for h in wait init exec; do
  for f in hi:5 boom:1; do
    fn=${f%:*} n=${f#*:}
    out=$(awk -v b="mote_call_${h}_seconds_bucket{namespace=\"guest\",function=\"$fn\"," -v fn="$fn" -v h="$h" '
      index($1, b) == 1 { if ($2 + 0 < prev) bad = "not monotone"; prev = $2 + 0; last = $1; nb++; lastv = $2 }
      $1 == "mote_call_" h "_seconds_count{namespace=\"guest\",function=\"" fn "\"}" { cnt = $2 }
      $1 == "mote_call_" h "_seconds_sum{namespace=\"guest\",function=\"" fn "\"}" { sum = $2; hs = 1 }
      END {
        if (last !~ /le="\+Inf"}$/) bad = bad " +Inf not last"
        if (nb < 15) bad = bad " only " nb " buckets"
        if (!hs) bad = bad " no _sum"
        print (bad == "" ? "ok" : bad), cnt, lastv
      }' "$tmp/b")
    [ "$out" = "ok $n $n" ] || { hist_ok=1; hist_msg="$hist_msg $h/$fn: $out;"; }
  done
done
check "histograms: cumulative buckets, +Inf = _count = calls, _sum" $hist_ok "$hist_msg"

grep -q 'le="1e-06"' "$tmp/b" && grep -q 'le="10"' "$tmp/b"
check "histogram buckets span 1 us .. 10 s" $? "$(grep -m3 '_bucket' "$tmp/b")"

# Every family has HELP and TYPE before its samples; every other line is a sample.
fmt=$(awk '
  /^# HELP / { help[$3] = 1; next }
  /^# TYPE / { if (!help[$3]) print "TYPE before HELP: " $0; type[$3] = $4
               if ($4 !~ /^(counter|gauge|histogram)$/) print "bad type: " $0; next }
  /^#/ { print "stray comment: " $0; next }
  {
    if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eE]+(Inf|NaN)?$/) { print "bad line: " $0; next }
    n = $0; sub(/[{ ].*/, "", n); fam = n
    if (!(fam in type)) { sub(/_(bucket|sum|count)$/, "", fam) }
    if (!(fam in type)) print "no TYPE for " n
  }' "$tmp/b")
[ -z "$fmt" ] && [ "$(grep -c '^# TYPE' "$tmp/b")" = 37 ]
check "exposition format: HELP/TYPE per family, samples parse" $? "$fmt / $(grep -c '^# TYPE' "$tmp/b") types"

[ "$(grep '^# TYPE mote_calls_total ' "$tmp/b")" = "# TYPE mote_calls_total counter" ] \
  && [ "$(grep '^# TYPE mote_call_exec_seconds ' "$tmp/b")" = "# TYPE mote_call_exec_seconds histogram" ] \
  && [ "$(grep '^# TYPE mote_functions ' "$tmp/b")" = "# TYPE mote_functions gauge" ]
check "metric types" $? "$(grep '^# TYPE' "$tmp/b")"

mreq POST /metrics
[ "$code" = 405 ]
check "POST /metrics is 405" $? "$code"

mreq HEAD /metrics --head
[ "$code" = 200 ] && ! grep -q '^mote_' "$tmp/b"
check "HEAD /metrics: 200, no body" $? "$code $body"

# After a delete the function's counters stay (they are counters); the gauge drops.
req DELETE /v1/functions/boom
mreq GET /metrics
[ "$(sample mote_functions)" = 1 ] && [ "$(sample 'mote_calls_total{namespace="guest",function="boom",status="502"}')" = 1 ]
check "delete: mote_functions drops, counters stay" $? "$(sample mote_functions)"

# ---- the operator's address ---------------------------------------------------------
req GET /metrics; c1=$code
req_as "" GET /metrics; c2=$code
req HEAD /metrics --head; c3=$code
[ "$c1 $c2 $c3" = "404 404 404" ] && [ "$mport" != "$port" ]
check "the public address has no /metrics, with a key or without" $? "$c1 $c2 $c3 ($port, $mport)"
# A tenant's own: /v1/metrics with a key, its namespace's functions only.
req_as "" GET /v1/metrics; c1=$code
req GET /v1/metrics
[ "$c1" = 401 ] && [ "$code" = 200 ] && [ "$(header Content-Type)" = "text/plain; version=0.0.4" ] &&
  [ "$(sample 'mote_calls_total{namespace="guest",function="hi",status="200"}')" = 5 ] &&
  [ "$(sample 'mote_usage_invocations_total{namespace="guest",function="hi"}')" = 5 ] &&
  [ "$(sample mote_functions)" = missing ] && [ "$(sample 'mote_workers{state="busy"}')" = missing ]
check "/v1/metrics: the key's namespace's families, not the server's" $? "$c1 $code $(head -c 600 "$tmp/b")"
mreq GET /healthz; h=$body
mreq GET /v1/functions; c1=$code
mreq GET /faas/hi; c2=$code
[ "$(printf '%s' "$h" | jq -c .)" = '{"status":"ok","start":"ready","functions":1,"preparing":0}' ] && [ "$c1 $c2" = "404 404" ]
check "the operator's address: /metrics and /healthz (with the count), nothing else" $? "$h $c1 $c2"
req GET /healthz
[ "$body" = '{"status":"ok","start":"ready"}' ]
check "the public /healthz counts nothing" $? "$body"

# An operator's address that cannot be bound (this server holds it) is an
# error at start, not a server without metrics; a malformed one a usage
# error; off: none at all.
timeout 120 "$mote" serve --listen 127.0.0.1:0 --metrics-listen "127.0.0.1:$mport" \
  --data "$tmp/data2" >"$tmp/out2" 2>"$tmp/err2"
rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] &&
  grep -q "the operator's metrics address: cannot listen on 127.0.0.1:$mport" "$tmp/err2" &&
  ! grep -q "that is the default" "$tmp/err2" && ! grep -q 'listening on' "$tmp/out2"
check "--metrics-listen: an address in use stops the start, named as the metrics address" $? "$rc $(cat "$tmp/out2" "$tmp/err2")"

kill -0 "$server_pid" 2>/dev/null
check "server still running" $? "$(cat "$tmp/err")"
stop_server

"$mote" serve --listen 127.0.0.1:0 --metrics-listen nowhere --data "$tmp/data" >/dev/null 2>"$tmp/err3"
rc2=$?
grep -q 'metrics-listen takes HOST:PORT or off' "$tmp/err3" && [ "$rc2" = 64 ]
check "--metrics-listen: a malformed address is a usage error" $? "$rc2 $(cat "$tmp/err3")"
start_server 2 --metrics-listen off
grep -q '^mote: listening on http://127.0.0.1:[0-9]* (metrics off, ' "$tmp/out"
check "--metrics-listen off: no operator's address" $? "$(cat "$tmp/out")"
stop_server

echo "tests/server/test_metrics.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

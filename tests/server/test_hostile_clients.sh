#!/usr/bin/env bash
# Hostile clients cannot deny service (issue 14), end to end against a real
# `mote serve`: connections (a per-client cap, a deadline for a request's
# head that trickled bytes do not extend, room for newcomers on a full
# server), the framing rules of RFC 9112 (NUL in a path, 600 parameters,
# conflicting Content-Length, Transfer-Encoding, Host, Expect, a head too
# large), a CGI function's largest header block behind the largest request
# head, and the record of what the client got.
# The clients are tests/server/clients/hclient.c, built here with gcc.
# Other client addresses are other loopback addresses (127.0.0.2, ...).
# usage: test_hostile_clients.sh BUILD_DIR
set -u
build=${1:-build}
test_name=hostile
. "$(dirname "$0")/server_lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
hc="$tmp/hclient"
gcc -O2 -pthread "$here/clients/hclient.c" -o "$hc" || { echo "gcc failed"; exit 1; }

holders=()
trap 'for p in "${holders[@]}"; do kill "$p" 2>/dev/null; done; stop_server; rm -rf "$tmp"' EXIT

# A holder: `hclient hold` with a control FIFO (a line asks for a report)
# and its output in $tmp/NAME.out.
hold_start() { # NAME HCLIENT-HOLD-ARGS...
  local name=$1 fd; shift
  mkfifo "$tmp/$name.ctl"
  : >"$tmp/$name.out"
  "$hc" hold 127.0.0.1 "$port" "$@" <"$tmp/$name.ctl" >"$tmp/$name.out" 2>&1 &
  holders+=($!)
  exec {fd}>"$tmp/$name.ctl"
  eval "fd_$name=$fd"
}
# Waits (up to 2 minutes, a bound only against a hang) for a line of the
# holder's output matching the pattern; it is left in $line.
hold_line() { # NAME REGEX
  local until=$((SECONDS + 120))
  while :; do
    line=$(grep -E "$2" "$tmp/$1.out" | tail -n1)
    [ -n "$line" ] && return 0
    [ $SECONDS -ge $until ] && return 1
    sleep 0.05
  done
}
# Asks for reports until one matches (the server closing connections is a
# state the test waits for), up to 2 minutes; the last report in $line.
hold_until() { # NAME REGEX
  local until=$((SECONDS + 120)) fd n
  eval "fd=\$fd_$1"
  while :; do
    n=$(grep -c '^open' "$tmp/$1.out")
    echo >&"$fd"
    while [ "$(grep -c '^open' "$tmp/$1.out")" -le "$n" ]; do sleep 0.02; done
    line=$(grep '^open' "$tmp/$1.out" | tail -n1)
    printf '%s\n' "$line" | grep -qE "$2" && return 0
    [ $SECONDS -ge $until ] && return 1
    sleep 0.1
  done
}
hold_stop() { local fd; eval "fd=\$fd_$1"; exec {fd}>&-; }
metric() { curl -s --max-time 20 "$mbase/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
# One raw request (C escapes), its raw reply in $reply.
raw() { reply=$("$hc" send 127.0.0.1 "$port" "$1" --wait 60000); } # the wait: a bound against a hang only
status_of() { printf '%s' "$reply" | head -n1 | awk '{ print $2 }'; }
replies() { printf '%s' "$reply" | grep -c '^HTTP/1\.[01] [0-9]'; }

# ---- framing, on a server with the default limits -----------------------------------

cat >"$tmp/cgi.c" <<'C'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  /* The largest header block a CGI function may print: 100 lines, ~8 KiB. */
  if (argc > 1 && !strcmp(argv[1], "maxlines")) {
    printf("Content-Type: text/plain\n");
    for (int i = 1; i < 100; i++) printf("X-L%d: %070d\n", i, i);
    printf("\nok");
    return 0;
  }
  printf("Content-Type: text/plain\n\nhi");
  return 0;
}
C
clang-19 --target=wasm32-wasi -O2 "$tmp/cgi.c" -o "$tmp/cgi.wasm" || { echo "clang-19 failed"; exit 1; }
clang-19 --target=wasm32-wasi -O2 "$here/programs/nap.c" -o "$tmp/nap.wasm" || { echo "clang-19 failed"; exit 1; }

start_server 2
check "server starts" $? "$(cat "$tmp/out" "$tmp/err")"
deploy victim "$tmp/nap.wasm" "public=true"
deploy c "$tmp/cgi.wasm" "public=true&cgi=true"
check "deploys" $? "$code $body"

raw 'GET /healthz%00/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
[ "$(status_of)" = 400 ]
check "NUL in a path: 400 (was 200: /healthz%00/x served /healthz)" $? "$reply"
raw 'DELETE /v1/functions/victim%00.bak HTTP/1.1\r\nHost: h\r\nAuthorization: Basic '"$(printf %s "$dev_auth" | base64 -w0)"'\r\nConnection: close\r\n\r\n'
s=$(status_of); req GET /v1/functions/victim
[ "$s" = 400 ] && [ "$code" = 200 ]
check "DELETE victim%00.bak: 400, victim still there (was: deleted)" $? "$s, then $code"
raw 'GET /v1/functions/%ff%fe HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
[ "$(status_of)" = 400 ]
check "invalid UTF-8 in a path: 400" $? "$reply"
raw 'GET /faas/victim%zz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
[ "$(status_of)" = 400 ]
check "a bad %-escape in a path: 400" $? "$reply"

q=$(for i in $(seq 600); do printf 'a=%d&' "$i"; done)
raw "GET /healthz?$q HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
s=$(status_of)
[ "$s" = 400 ] || [ "$s" = 414 ]
check "600 query parameters: 400 or 414 (was: no reply)" $? "${reply:0:300}"
q=$(for i in $(seq 3000); do printf 'a&'; done)
raw "GET /healthz?$q HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
s=$(status_of)
[ "$s" = 400 ] || [ "$s" = 414 ]
check "3000 query parameters: 400 or 414" $? "${reply:0:300}"

# Two Content-Lengths: the first (3) framed "abc" and the rest started a
# second request; one 400 and the connection closed, nothing smuggled.
raw 'POST /faas/victim HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabcGET /healthz HTTP/1.1\r\nHost: h\r\n\r\n'
[ "$(status_of)" = 400 ] && [ "$(replies)" = 1 ]
check "conflicting Content-Length: one 400, nothing smuggled" $? "$reply"
raw 'POST /faas/victim HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc'
[ "$(status_of)" != 400 ]
check "the same Content-Length twice: accepted" $? "$reply"
raw 'POST /faas/victim HTTP/1.1\r\nHost: h\r\nContent-Length: 3x\r\nConnection: close\r\n\r\nabc'
[ "$(status_of)" = 400 ]
check "a bad Content-Length: 400" $? "$reply"
raw 'POST /faas/victim HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nabc'
[ "$(status_of)" = 501 ]
check "Transfer-Encoding: gzip: 501 (was: no reply)" $? "$reply"
raw 'POST /faas/victim HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
[ "$(status_of)" = 501 ]
check "Transfer-Encoding: gzip, chunked: 501" $? "$reply"
raw 'POST /faas/victim HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
[ "$(status_of)" = 400 ] && [ "$(replies)" = 1 ]
check "Transfer-Encoding and Content-Length: 400" $? "$reply"
raw 'POST /faas/victim HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
[ "$(status_of)" = 400 ]
check "Transfer-Encoding in HTTP/1.0: 400" $? "$reply"
raw 'POST /faas/victim HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
[ "$(status_of)" = 200 ]
check "Transfer-Encoding: chunked still works" $? "$reply"
raw 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'
[ "$(status_of)" = 400 ]
check "HTTP/1.1 without Host: 400 (was 200)" $? "$reply"
raw 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n'
[ "$(status_of)" = 400 ]
check "two Host headers: 400" $? "$reply"
raw 'GET /healthz HTTP/1.0\r\n\r\n'
[ "$(status_of)" = 200 ]
check "HTTP/1.0 without Host: 200" $? "$reply"
raw 'GET /healthz HTTP/1.1\r\nHost: h\r\nExpect: 999-bogus\r\nConnection: close\r\n\r\n'
[ "$(status_of)" = 417 ]
check "Expect: 999-bogus: 417 (was 200)" $? "$reply"
req POST /faas/victim -H 'Expect: 100-continue' --data-binary 'x'
[ "$code" = 200 ]
check "Expect: 100-continue still works" $? "$code $body"

# A request head past HTTP_MAX_HEAD (12 KiB) is 431 with a reply; below it,
# the CGI function's largest header block still fits the connection's
# memory beside it (it did not: 20 KiB of request headers plus 8 KiB of CGI
# headers gave an empty reply, recorded as 200).
big=$(for i in $(seq 60); do printf 'X-Pad-%02d: %0200d\\r\\n' "$i" 0; done)
raw "GET /faas/c?arg=maxlines HTTP/1.1\r\nHost: h\r\n${big}Connection: close\r\n\r\n"
[ "$(status_of)" = 431 ]
check "a 12.5 KiB request head: 431" $? "${reply:0:200}"
big=$(for i in $(seq 100); do printf 'X-Pad-%03d: %0190d\\r\\n' "$i" 0; done)
raw "GET /faas/c?arg=maxlines HTTP/1.1\r\nHost: h\r\n${big}Connection: close\r\n\r\n"
[ "$(status_of)" = 431 ]
check "a 20 KiB request head to a CGI function: 431 (was: no reply, recorded 200)" $? "${reply:0:200}"
# The largest head allowed: 64 lines, just under 12 KiB.
pad=$(( (12 * 1024 - 80) / 62 - 12 ))
big=$(for i in $(seq 61); do printf 'X-P%02d: %0*d\\r\\n' "$i" "$pad" 0; done)
raw "GET /faas/c?arg=maxlines HTTP/1.1\r\nHost: h\r\n${big}Connection: close\r\n\r\n"
[ "$(status_of)" = 200 ] && printf '%s' "$reply" | grep -q '^X-L99: ' && [ "${reply: -2}" = ok ]
check "the largest head allowed and the largest CGI header block: a whole 200" $? "${reply:0:200}"
req GET "/v1/activations?function=c&limit=10"
[ "$code" = 200 ] && [ "$(jget '[.activations[].http_status] | unique | join(",")')" = 200 ]
check "the CGI function's records: every call 200, as its clients got" $? "$body"

stop_server

# ---- connections, on a server with small limits --------------------------------------

# The server raises its open-file soft limit to the hard one (each
# connection is a descriptor): started with a lower soft limit, it has the
# hard one.
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -le 256 ] || ulimit -Sn $((hard / 2))
start_server 2 --max-connections 40 --max-connections-per-client 10 --head-timeout 1500
check "server with connection limits starts" $? "$(cat "$tmp/out" "$tmp/err")"
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$server_pid/limits")
[ "$soft" = "$hard" ]
check "the open-file soft limit raised to the hard one ($hard; started with $(ulimit -Sn))" $? "$soft"

# 40 idle keep-alive connections from four addresses: the server is full.
hold_start idle 40 --spread 4 --probe
hold_line idle '^answered'
[ "$line" = "answered 40" ]
check "40 connections of four clients held" $? "$line"

# One client trickling heads (a byte every 100 ms; a whole head would take
# a minute): it gets its 10 connections and no more.
head='GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: '$(printf '%0580d' 0)'\r\n\r\n'
hold_start slow 15 --src 127.0.0.2 --head "$head" --trickle 100
hold_line slow '^connected'
# Healthz from yet another client, meanwhile: the server makes room.
code=$(curl -s --max-time 20 --interface 127.0.0.3 -o /dev/null -w '%{http_code}' "$base/healthz")
[ "$code" = 200 ]
check "/healthz from another client on a full server: 200 (was: refused)" $? "$code"
hold_until slow 'closed 15$'
check "the slow client's heads: closed by their deadline, trickling did not extend it" $? "$line"
ht=$(metric 'mote_http_connections_closed_total{reason="head_timeout"}')
[ "${ht:-0}" -ge 1 ] && [ "${ht:-0}" -le 10 ]
check "the head deadline closed at most the client's 10 (the others were over its cap)" $? "$ht"
ev=$(metric 'mote_http_connections_closed_total{reason="evicted"}')
[ "${ev:-0}" -ge 1 ]
check "newcomers on a full server closed idle connections" $? "$ev"
# The per-client cap, counted exactly: 15 connections, 10 answered.
hold_start capped 15 --src 127.0.0.4 --probe
hold_line capped '^answered'
[ "$line" = "answered 10" ]
check "per-client cap: 10 of 15 connections of one client answered" $? "$line"
hold_stop capped
code=$(curl -s --max-time 20 --interface 127.0.0.5 -o /dev/null -w '%{http_code}' "$base/healthz")
[ "$code" = 200 ]
check "/healthz from another client while one is at its cap: 200" $? "$code"
hold_stop slow
hold_stop idle

# One client trickling bodies: heads at once, then a byte every 100 ms (10
# B/s against the least 1 KiB/s after the head's 1.5 s; the 2000 bytes sent
# would take 200 s, past hold_until's bound of 120 s). A connection
# reading a body counts as handling a request, which the head deadline and
# eviction skip: before the body's rate was watched, it held them for as
# long as it kept trickling (MHD's idle timeout restarts with every byte).
body_head='POST /api/v1/web/guest/default/nothing HTTP/1.1\r\nHost: slowbody\r\nContent-Length: 100000\r\n\r\n'
at_once=$(printf '%b' "$body_head" | wc -c)
hold_start slowbody 5 --src 127.0.0.6 --head "$body_head$(printf '%02000d' 0)" --trickle 100 --at-once "$at_once"
hold_line slowbody '^connected'
[ "$line" = "connected 5" ]
check "5 connections sending bodies slowly" $? "$line"
hold_until slowbody 'closed 5$'
check "the slow bodies: closed for their rate, trickling did not extend them" $? "$line"
bt=$(metric 'mote_http_connections_closed_total{reason="body_timeout"}')
[ "${bt:-0}" = 5 ]
check "/metrics counts the 5 body timeouts" $? "$bt"
hold_stop slowbody

stop_server

# ---- calls that do not compute, and calls that never end ------------------------------
# One worker (CPU slot). Before, two sleeping calls held it (and the queue's
# one waiting place) until they ended, and an endless loop held it to its
# timeout: every other function's calls were refused at the queue timeout.

cat >"$tmp/spin.c" <<'C'
int main(void) {
  volatile unsigned long n = 0;
  for (;;) n++;
}
C
clang-19 --target=wasm32-wasi -O2 "$tmp/spin.c" -o "$tmp/spin.wasm" || { echo "clang-19 failed"; exit 1; }
gate_bundle "$tmp/nap.wasm" || { echo "cannot make the bundle"; exit 1; }
start_server 1 --queue-timeout 3000
check "server with one worker starts" $? "$(cat "$tmp/out" "$tmp/err")"
gate_deploy sleeper; c1=$code
deploy spin "$tmp/spin.wasm" "public=true&timeout=600000"; c2=$code
deploy victim "$tmp/nap.wasm" "public=true"; c3=$code
[ "$c1 $c2 $c3" = "201 201 201" ]
check "deploys" $? "$c1 $c2 $c3"
sleepers=()
for i in 1 2; do
  curl -s -o "$tmp/sleeper$i" --max-time 600 -u "$dev_auth" "$base/faas/sleeper?arg=gate&arg=wake" &
  sleepers+=($!)
done
wait_metric mote_calls_alive 2
check "two sleeping calls alive at once on one worker" $? "$(grep -E '^mote_(calls_alive|workers|cpu)' "$tmp/m")"
# The second call is alive from its admission on; it gives its slot back
# when it reaches its sleep (before, this read the count at alive = 2 and
# found 1 when the second had not slept yet).
wait_metric 'mote_cpu_slots_released_total{reason="yield"}' 2
check "the sleeping calls gave their CPU slot back" $? "$(grep '^mote_cpu_slots' "$tmp/m")"
req GET "/faas/victim?arg=1"
[ "$code" = 200 ]
check "another function's call while two calls sleep: 200 (was 429: they held the worker)" $? "$code $body"
curl -s -o /dev/null --max-time 600 "$base/faas/spin" &
spinner=$!
wait_metric mote_calls_alive 3
req GET "/faas/victim?arg=1"
[ "$code" = 200 ]
check "another function's call beside an endless loop: 200 (was 429: it held the worker)" $? "$code $body"
curl -s --max-time 20 "$mbase/metrics" >"$tmp/m"
v=$(awk '$1 == "mote_cpu_slots_released_total{reason=\"quantum\"}" { print $2 }' "$tmp/m")
[ "${v:-0}" -ge 1 ]
check "the endless loop lost its CPU slot after its quantum" $? "$v"
gate_open wake
wait "${sleepers[@]}"
grep -q ' done$' "$tmp/sleeper1" && grep -q ' done$' "$tmp/sleeper2"
check "the sleeping calls complete" $? "$(cat "$tmp/sleeper1") / $(cat "$tmp/sleeper2")"
kill "$spinner" 2>/dev/null
stop_server

# ---- slow readers ----------------------------------------------------------------------
# Clients that never read hold their replies in the server: past
# --response-budget (8 MiB here) a call waits for them (1 s), then gets 503
# with Retry-After; the replies held are all delivered once read.
clang-19 --target=wasm32-wasi -O2 "$here/programs/big.c" -o "$tmp/big.wasm" || { echo "clang-19 failed"; exit 1; }
start_server 2 --response-budget 8
check "server with a response budget starts" $? "$(cat "$tmp/out" "$tmp/err")"
deploy big "$tmp/big.wasm" "public=true"; c1=$code
deploy victim "$tmp/nap.wasm" "public=true"; c2=$code
check "deploys" $([ "$c1 $c2" = "201 201" ]; echo $?) "$c1 $c2"
slow_start() { # NAME N PATH [--src ADDR]
  local name=$1 n=$2 path=$3 fd
  shift 3
  mkfifo "$tmp/$name.ctl"
  "$hc" slowread 127.0.0.1 "$port" "$n" "$path" "$@" <"$tmp/$name.ctl" >"$tmp/$name.out" 2>&1 &
  holders+=($!)
  exec {fd}>"$tmp/$name.ctl"
  eval "fd_$name=$fd"
}
slow_start first 1 "/faas/big?arg=12"
wait_metric mote_http_response_bytes_held $((12 << 20))
check "a 12 MiB reply held for a client that does not read" $? "$(grep '^mote_http_resp' "$tmp/m")"
slow_start more 3 "/faas/big?arg=12"
wait_metric mote_http_response_budget_refused_total 3
check "past the budget: three more calls refused (was: 48 MiB held)" $? "$(grep '^mote_http_resp' "$tmp/m")"
req GET "/faas/victim?arg=0"
[ "$code" = 503 ] && [ "$(jget .code)" = response_budget ] && grep -qi '^Retry-After: 1' "$tmp/h"
check "a call while the budget is spent: 503 response_budget with Retry-After" $? "$code $body"
req POST "/api/v1/namespaces/guest/actions/victim?blocking=true&result=true"
[ "$code" = 503 ] && grep -qi '^Retry-After: 1' "$tmp/h" && [[ "$(jget .code)" =~ ^[0-9a-f]{32}$ ]] &&
  [[ "$(jget .error)" == "The server holds too many response bytes"* ]]
check "an OpenWhisk invoke meanwhile: 503 in OpenWhisk's words, Retry-After" $? "$code $body"
hold_stop more
hold_line more '^complete'
[[ "$line" == "complete 0 other 3 "* ]]
check "the refused calls' replies: three whole 503s" $? "$line"
hold_stop first
hold_line first '^complete'
[[ "$line" == "complete 1 other 0 "* ]] && [ "$(echo "$line" | awk '{ print $6 }')" -gt $((12 << 20)) ]
check "the reply held: delivered whole once read (nothing lost)" $? "$line $(cat "$tmp/first.out")"
wait_metric mote_http_response_bytes_held 0
req GET "/faas/victim?arg=0"
check "with the replies delivered, calls run again" $([ "$code" = 200 ]; echo $?) "$code $body"
stop_server

# One client's share: a quarter of the budget (64 MiB: 16) in large replies.
# A client holding two 12 MiB replies is past it: its calls are refused, the
# others' are not (before, one client could spend the whole budget).
start_server 2 --response-budget 64
check "server with a 64 MiB budget starts" $? "$(cat "$tmp/out" "$tmp/err")"
deploy big "$tmp/big.wasm" "public=true"; c1=$code
deploy victim "$tmp/nap.wasm" "public=true"; c2=$code
check "deploys" $([ "$c1 $c2" = "201 201" ]; echo $?) "$c1 $c2"
slow_start hog 2 "/faas/big?arg=12" --src 127.0.0.2
wait_metric mote_http_response_bytes_held $((24 << 20))
[ "$(awk '$1 == "mote_http_response_budget_client_bytes" { print $2 }' "$tmp/m")" = $((16 << 20)) ]
check "two 12 MiB replies held for one client (its share: 16 MiB)" $? "$(grep '^mote_http_resp' "$tmp/m")"
req GET "/faas/victim?arg=0" --interface 127.0.0.2
[ "$code" = 503 ] && [ "$(jget .code)" = response_budget ] && [[ "$(jget .error)" == *"this client"* ]]
check "a call of the client past its share: 503, its share named" $? "$code $body"
req GET "/faas/victim?arg=0" --interface 127.0.0.3
check "another client's call meanwhile: 200" $([ "$code" = 200 ]; echo $?) "$code $body"
hold_stop hog
hold_line hog '^complete'
[[ "$line" == "complete 2 other 0 "* ]]
check "the client's two replies: delivered whole once read" $? "$line"
wait_metric mote_http_response_bytes_held 0
req GET "/faas/victim?arg=0" --interface 127.0.0.2
check "its calls run again once it read them" $([ "$code" = 200 ]; echo $?) "$code $body"
stop_server

# ---- a full disk ---------------------------------------------------------------------
# The data directory on a small tmpfs (root can mount one; the test says so
# and skips this part when it cannot). Filled after one deploy: the server
# serves, a deploy is 507 disk_full (was 500 compile_failed), and a server
# started on the full disk serves too.
full="$tmp/full"
mkdir -p "$full"
if mount -t tmpfs -o size=48m tmpfs "$full" 2>"$tmp/mount.err"; then
  trap 'for p in "${holders[@]}"; do kill "$p" 2>/dev/null; done; stop_server; umount -l "$full"; rm -rf "$tmp"' EXIT
  mkdir -p "$full/data" && rm -rf "$tmp/data" && ln -s "$full/data" "$tmp/data"
  start_server 1
  check "server on a small disk starts" $? "$(cat "$tmp/out" "$tmp/err")"
  deploy hello "$tmp/nap.wasm" "public=true"
  check "a deploy before the disk fills" $([ "$code" = 201 ]; echo $?) "$code $body"
  # Its opt tier built first: a build ending later would free its work
  # files, and the disk would no longer be full for the checks below.
  wait_opt hello
  # Fills what is free now (again before each write below: the server may
  # free a little, a checkpointed journal say).
  nfill=0
  fill() { nfill=$((nfill + 1)); dd if=/dev/zero of="$full/fill$nfill" bs=4k 2>/dev/null; }
  fill
  req GET "/faas/hello?arg=0"
  check "a call on the full disk: 200" $([ "$code" = 200 ]; echo $?) "$code $body"
  fill
  deploy other "$tmp/cgi.wasm" "public=true"
  [ "$code" = 507 ] && [ "$(jget .code)" = disk_full ] && [[ "$(jget .error)" == *"disk"*full* ]]
  check "a deploy on the full disk: 507 disk_full saying so (was 500 compile_failed)" $? "$code $body"
  # A module already compiled, in a bundle: only the store's writes of its
  # files can fail (MOTE_STORE_FULL from ENOSPC, not a message matched).
  mkdir -p "$tmp/fullb" && cp "$tmp/nap.wasm" "$tmp/fullb/main.wasm" &&
    head -c 65536 /dev/urandom >"$tmp/fullb/data.bin" && tar czf "$tmp/fullb.tgz" -C "$tmp/fullb" .
  fill
  req PUT "/v1/functions/bundled?public=true" -H 'Content-Type: application/gzip' \
    --data-binary "@$tmp/fullb.tgz"
  [ "$code" = 507 ] && [ "$(jget .code)" = disk_full ] && [[ "$(jget .error)" == *"No space left"* ]]
  check "a bundle of a compiled module on the full disk: 507 disk_full (its files' write)" $? "$code $body"
  stop_server
  start_server 1
  check "a server starts on the full disk" $? "$(cat "$tmp/out" "$tmp/err")"
  req GET "/faas/hello?arg=0"
  check "and serves: 200" $([ "$code" = 200 ]; echo $?) "$code $body"
  fill
  deploy other "$tmp/cgi.wasm" "public=true"
  check "and refuses a deploy: 507" $([ "$code" = 507 ]; echo $?) "$code $body"
  stop_server
  rm -f "$full"/fill*
else
  echo "  (skipped the full-disk part: cannot mount a tmpfs here: $(cat "$tmp/mount.err"))" >&2
fi

echo "tests/server/test_hostile_clients.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# `mote serve` over a function's life: fresh state on every call, the
# initialiser (mote_init) run once and snapshotted, updates under load, and
# kill -9 in the middle of deploys.
# usage: test_lifecycle.sh BUILD_DIR
build=${1:?usage: test_lifecycle.sh BUILD_DIR}
test_name=lifecycle
. "$(dirname "$0")/server_lib.sh"

# ---- the functions -----------------------------------------------------------
# count: its statics and heap start fresh on every call, so it always prints
# "calls 1"; with INIT set, mote_init fills a table once (and counts its own
# runs), and every call sees the table and "inits 1".
cat >"$tmp/count.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int calls, inits, initialised;
static unsigned table[4096];
static char *heap;
void mote_init(void);
#ifdef __wasm__
__attribute__((export_name("mote_init")))
#endif
void mote_init(void) {
  inits++;
  for (unsigned i = 0; i < 4096; i++) table[i] = i * 2654435761u;
  heap = strdup("made by mote_init");
  initialised = 1;
  if (getenv("FAIL_INIT")) abort();
}
int main(void) {
  if (!initialised) mote_init(); /* natively, or where nobody called it */
  calls++;
  unsigned sum = 0;
  for (unsigned i = 0; i < 4096; i++) sum += table[i];
  char *mine = malloc(64);
  snprintf(mine, 64, "%s", heap);
  printf("calls %d inits %d sum %u heap %s version %s\n", calls, inits, sum, mine,
         getenv("VERSION") ? getenv("VERSION") : "-");
  return 0;
}
C
clang-19 --target=wasm32-wasi -O2 "$tmp/count.c" -o "$tmp/count.wasm" || { echo "clang-19 failed"; exit 1; }
gcc -O2 "$tmp/count.c" -o "$tmp/count.native" || { echo "gcc failed"; exit 1; }
want=$("$tmp/count.native" | sed 's/ version -$//')

start_server
check "server starts" $? "$(cat "$tmp/out" "$tmp/err")"

# ---- fresh state on every call, from the initialiser's snapshot ---------------
deploy count "$tmp/count.wasm"
[ "$code" = 201 ] && [ "$(jget '.snapshot')" = true ]
check "deploy with mote_init: 201, snapshot taken" $? "$code $body"
bad=
for i in $(seq 20); do
  req GET /faas/count
  [ "$code" = 200 ] && [ "$body" = "$want version -" ] || bad="$bad [$code $body]"
done
[ -z "$bad" ]
check "20 calls: each sees 1 call, 1 init, the initialiser's table and heap" $? "want [$want]:$bad"

# The initialiser failing refuses the deploy; the old version keeps serving.
deploy count "$tmp/count.wasm" "env=FAIL_INIT=1"
fail_code=$code; fail_err=$(jget '.code')
req GET /faas/count
[ "$fail_code" = 400 ] && [ "$fail_err" = init_failed ] && [ "$code" = 200 ] && [ "$(header X-Mote-Version)" = 1 ]
check "mote_init traps: 400 init_failed, version 1 still serves" $? "$fail_code $fail_err / $code"

# ---- updates under load: no call fails, versions only move forward -----------
load() { # OUT: call /faas/count until $tmp/stop exists, one status+version per line
  while [ ! -e "$tmp/stop" ]; do
    acurl -s --max-time 20 -o /dev/null -D - "$base/faas/count" \
      | tr -d '\r' | awk '/^HTTP/ { s = $2 } tolower($1) == "x-mote-version:" { v = $2 } END { print s, v }'
  done >"$1"
}
# Waits until every loop has finished a call since the last wait (each line
# of its file is one call), so that every deploy lands among calls: up to 2
# minutes, a bound only against a hang.
seen=(0 0 0 0 0)
progress() {
  local until=$((SECONDS + 120)) i n
  for i in 1 2 3 4; do
    while n=$(wc -l <"$tmp/load.$i" 2>/dev/null || echo 0); [ "$n" -le "${seen[$i]}" ]; do
      [ $SECONDS -ge $until ] && return 1
      sleep 0.02
    done
    seen[$i]=$n
  done
}
rm -f "$tmp/stop"
pids=
for i in 1 2 3 4; do load "$tmp/load.$i" & pids="$pids $!"; done
acks=; stalled=0
for v in 2 3 4 5 6; do
  progress || stalled=1
  deploy count "$tmp/count.wasm" "env=VERSION=$v"
  acks="$acks $code"
done
progress || stalled=1
touch "$tmp/stop"
wait $pids
total=$(cat "$tmp"/load.* | wc -l)
non200=$(cat "$tmp"/load.* | awk '$1 != 200' | wc -l)
backwards=$(for f in "$tmp"/load.*; do awk '$2 < last { n++ } { last = $2 } END { print n + 0 }' "$f"; done | awk '{ n += $1 } END { print n + 0 }')
[ "$acks" = " 201 201 201 201 201" ] && [ $stalled = 0 ] && [ "$non200" = 0 ] && [ "$backwards" = 0 ]
check "5 updates under 4 loops of calls, each making calls between them: all 201, $total calls all 200, versions never go back" $? \
  "acks[$acks] stalled=$stalled total=$total non200=$non200 backwards=$backwards"
req GET /faas/count
[ "$body" = "$want version 6" ]
check "after the updates, version 6 serves" $? "[$body]"

# ---- kill -9 in the middle of deploys ------------------------------------------
# Deploys of new names run in a loop; the server is killed once three are
# acknowledged, while the loop goes on; after a restart every deploy that was
# acknowledged (201) serves.
: >"$tmp/acked"
(
  for i in $(seq 1 200); do
    c=$(acurl -s --max-time 20 -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/wasm' \
      --data-binary @"$tmp/count.wasm" "$base/v1/functions/k$i?env=VERSION=$i")
    [ "$c" = 201 ] && echo "k$i" >>"$tmp/acked"
    [ "$c" = 000 ] && break
  done
) &
deployer=$!
until=$((SECONDS + 120)) # a bound only against a hang
while [ "$(wc -l <"$tmp/acked")" -lt 3 ] && [ $SECONDS -lt $until ] && kill -0 $deployer 2>/dev/null; do
  sleep 0.02
done
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=
wait $deployer
acked=$(wc -l <"$tmp/acked")
start_server
check "restart after kill -9 during deploys" $? "$(tail -5 "$tmp/err")"
missing=
while read -r name; do
  req GET "/faas/$name"
  [ "$code" = 200 ] && [ "$body" = "$want version ${name#k}" ] || missing="$missing $name:$code"
done <"$tmp/acked"
[ "$acked" -ge 3 ] && [ -z "$missing" ]
check "every one of the $acked acknowledged deploys serves after the restart" $? "$missing"
req GET /faas/count
[ "$body" = "$want version 6" ]
check "restart: count serves its last version, from a new snapshot" $? "[$body]"

if [ $failed -ne 0 ]; then echo "  the server's stderr (last lines):" >&2; tail -n 40 "$tmp/err" >&2; fi
echo "tests/server/test_lifecycle.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]

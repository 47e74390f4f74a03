#!/usr/bin/env bash
# Hostile clients and functions (issue 14): prints figures, asserts nothing.
#
#   connections  idle keep-alive connections held (each made one /healthz
#                first, from 20 client addresses), then the server's threads
#                and RSS, and /healthz latency (1000 sequential GETs on
#                another connection) while they are held: 1k, 5k, 10k.
#   restart      20 functions whose mote_init sleeps 1 s, restarted with
#                --no-kept-snapshots (every mote_init runs again): the time to
#                the listening line (both addresses) and to /healthz "start":
#                "ready" (a build without it: ready when it listens).
#   slots        a normal function (hello) called open-loop at 50 calls/s for
#                SECONDS while 20 hostile calls run (10 endless loops, 10
#                25-second sleeps): the share of its calls answered 200 within
#                10 s, and their p50/p99 from the moment each was due.
#   slow readers 60 connections (from 20 client addresses) each ask for a
#                15 MiB response and do not read it for SLOW_S seconds
#                (default 15; SO_RCVBUF 4 KiB):
#                the server's peak RSS meanwhile (sampled every 0.1 s),
#                then every client reads: replies 200 whole, other replies
#                (503 past the budget) whole. The new server with its
#                default --response-budget (512 MiB) and with 128.
#   init memory  RSS after deploying 3 functions whose mote_init fills
#                INIT_FILL_MB (default 200) MiB, once their opt tiers are
#                built (INIT=0 skips it).
#
# With OLD_BUILD (a build of main before the change), each part runs on the
# old and the new server, alternating, ROUNDS times (median reported per
# build). The client is tests/server/clients/hclient.c (gcc -O2).
# usage: bench/hostile.sh BUILD [OLD_BUILD]
#   env: ROUNDS (default 1), SECONDS_OPEN (default 20), CONNS (default "1000 5000 10000"),
#        SLOW_S (default 15), PARTS (default "conns init restart slots slow")
set -u
new=$1
old=${2:-}
rounds=${ROUNDS:-1}
secs=${SECONDS_OPEN:-20}
conns=${CONNS:-1000 5000 10000}
slow_s=${SLOW_S:-15}
parts=" ${PARTS:-conns init restart slots slow} "
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mote-bench-hostile-XXXXXX")
auth=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
pid=
bg=()
cleanup() {
  for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
hc="$tmp/hclient"
gcc -O2 -pthread "$here/../tests/server/clients/hclient.c" -o "$hc" || exit 1
clang-19 --target=wasm32-wasi -O2 "$here/programs/hello.c" -o "$tmp/hello.wasm" || exit 1
clang-19 --target=wasm32-wasi -O2 "$here/../tests/server/programs/nap.c" \
  -I"$here/../tests/server/programs" -o "$tmp/nap.wasm" || exit 1
cat >"$tmp/spin.c" <<'C'
int main(void) {
  volatile unsigned long n = 0;
  for (;;) n++;
}
C
clang-19 --target=wasm32-wasi -O2 "$tmp/spin.c" -o "$tmp/spin.wasm" || exit 1
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null

start() { # BUILD [ARGS...]: the server on a free port, in $pid and $base
  local b=$1; shift
  rm -rf "$tmp/data"
  : >"$tmp/out" # else the first read may find the last server's port (the child truncates it)
  "$b/mote" serve --dev --listen 127.0.0.1:0 --data "$tmp/data" "$@" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  local port=
  for _ in $(seq 1200); do
    port=$(sed -nE 's|^mote: listening on http://127\.0\.0\.1:([0-9]+) .*|\1|p' "$tmp/out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  port_=$port
  base="http://127.0.0.1:$port"
}
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; }
deploy() { # NAME FILE QUERY
  curl -s -o /dev/null -u "$auth" -X PUT -H 'Content-Type: application/wasm' \
    --data-binary @"$2" "$base/v1/functions/$1?$3"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'; }

builds=(new)
[ -n "$old" ] && builds=(old new)
path_of() { [ "$1" = new ] && echo "$new" || echo "$old"; }

[[ $parts == *" conns "* ]] || conns=
echo "== idle connections (threads, RSS, /healthz p50/p99 on one more connection)"
for n in $conns; do
  for r in $(seq "$rounds"); do
    for b in "${builds[@]}"; do
      args=(--workers 2)
      [ "$b" = new ] && args+=(--max-connections $((n + 100)) --max-connections-per-client "$n")
      start "$(path_of "$b")" "${args[@]}"
      mkfifo "$tmp/ctl"
      "$hc" hold 127.0.0.1 "$port_" "$n" --spread 20 --probe <"$tmp/ctl" >"$tmp/hold.out" 2>&1 &
      holder=$!
      exec {ctl}>"$tmp/ctl"
      for _ in $(seq 6000); do grep -q '^answered' "$tmp/hold.out" && break; sleep 0.05; done
      answered=$(awk '/^answered/ { print $2 }' "$tmp/hold.out")
      threads=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status")
      rss=$(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$pid/status")
      lat=$("$hc" latency 127.0.0.1 "$port_" 1000 /healthz)
      echo "$b $n $answered $threads $rss $lat" >>"$tmp/conns.txt"
      exec {ctl}>&-
      wait "$holder" 2>/dev/null
      rm -f "$tmp/ctl"
      stop
    done
  done
  for b in "${builds[@]}"; do
    awk -v b="$b" -v n="$n" '$1 == b && $2 == n' "$tmp/conns.txt" >"$tmp/sel"
    printf '%-4s %6d conns: answered %s threads %s RSS %s MB healthz ok %s/1000 p50 %s us p99 %s us\n' \
      "$b" "$n" "$(awk '{ print $3 }' "$tmp/sel" | median)" "$(awk '{ print $4 }' "$tmp/sel" | median)" \
      "$(awk '{ print $5 }' "$tmp/sel" | median)" \
      "$(awk '{ for (i = 1; i <= NF; i++) if ($i == "ok") print $(i + 1) }' "$tmp/sel" | median)" \
      "$(awk '{ for (i = 1; i <= NF; i++) if ($i == "p50_us") print $(i + 1) }' "$tmp/sel" | median)" \
      "$(awk '{ for (i = 1; i <= NF; i++) if ($i == "p99_us") print $(i + 1) }' "$tmp/sel" | median)"
  done
done

if [ "${INIT:-1}" != 0 ] && [[ $parts == *" init "* ]]; then
echo "== RSS after deploying 3 functions whose mote_init fills ${INIT_FILL_MB:-200} MiB (memory=512, opt tiers built)"
clang-19 --target=wasm32-wasi -O2 -DFILL_MB="${INIT_FILL_MB:-200}" "$here/../tests/server/programs/fill.c" \
  -o "$tmp/fill.wasm" || exit 1
for r in $(seq "$rounds"); do
  for b in "${builds[@]}"; do
    start "$(path_of "$b")" --workers 2
    rss0=$(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$pid/status")
    for f in fill1 fill2 fill3; do deploy "$f" "$tmp/fill.wasm" "memory=512"; done
    for _ in $(seq 2400); do # the opt tiers: built (or failed), each with its own mote_init
      n=0
      for f in fill1 fill2 fill3; do
        [ "$(curl -s -u "$auth" "$base/v1/functions/$f" | jq -r .opt_tier)" = building ] && n=$((n + 1))
      done
      [ "$n" = 0 ] && break
      sleep 0.25
    done
    for f in fill1 fill2 fill3; do curl -s -o /dev/null -u "$auth" "$base/faas/$f"; done
    rss=$(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$pid/status")
    echo "$b $rss0 $rss" >>"$tmp/init.txt"
    stop
  done
done
for b in "${builds[@]}"; do
  awk -v b="$b" '$1 == b' "$tmp/init.txt" >"$tmp/sel"
  printf '%-4s RSS %s MB before, %s MB after (rounds: %s)\n' "$b" \
    "$(awk '{ print $2 }' "$tmp/sel" | median)" "$(awk '{ print $3 }' "$tmp/sel" | median)" \
    "$(awk '{ printf "[%s/%s]", $2, $3 }' "$tmp/sel")"
done
fi

if [[ $parts == *" restart "* ]]; then
echo "== restart with 20 functions whose mote_init takes 1 s ($(nproc) CPUs: as many preparing at once)"
cat >"$tmp/slow.c" <<'C'
#include <stdio.h>
#include <unistd.h>
static int ready;
__attribute__((export_name("mote_init"))) void mote_init(void);
void mote_init(void) { usleep(1000000); ready = 1; }
int main(void) { printf("%d\n", ready); return 0; }
C
clang-19 --target=wasm32-wasi -O2 "$tmp/slow.c" -o "$tmp/slow.wasm" || exit 1
restart_of() { # BUILD DATA: "listen_ms ready_ms" of one start on DATA
  local b=$1 d=$2 t0 t1 t2 port=
  : >"$tmp/out" # before the start: the child's truncation may come after the first read
  t0=$(date +%s%N)
  "$b/mote" serve --dev --listen 127.0.0.1:0 --data "$d" --no-kept-snapshots >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  until [ -n "$port" ]; do
    port=$(sed -nE 's|^mote: listening on http://127\.0\.0\.1:([0-9]+) .*|\1|p' "$tmp/out")
    kill -0 "$pid" 2>/dev/null || return 1
    [ -n "$port" ] || sleep 0.005
  done
  t1=$(date +%s%N)
  until [ "$(curl -s -m 20 "http://127.0.0.1:$port/healthz" | jq -r '.start // "ready"')" = ready ]; do
    sleep 0.005
  done
  t2=$(date +%s%N)
  stop
  echo "$(( (t1 - t0) / 1000000 )) $(( (t2 - t0) / 1000000 ))"
}
for b in "${builds[@]}"; do # each build's own data: 20 deploys, each running its mote_init
  start "$(path_of "$b")"
  for i in $(seq 20); do deploy "slow$i" "$tmp/slow.wasm" "public=true"; done
  stop
  rm -rf "$tmp/restart-$b"
  mv "$tmp/data" "$tmp/restart-$b"
done
for r in $(seq "$rounds"); do
  for b in "${builds[@]}"; do
    echo "$b $(restart_of "$(path_of "$b")" "$tmp/restart-$b")" >>"$tmp/restart.txt"
  done
done
for b in "${builds[@]}"; do
  awk -v b="$b" '$1 == b' "$tmp/restart.txt" >"$tmp/sel"
  printf '%-4s listening %s ms, all ready %s ms (rounds: %s)\n' "$b" \
    "$(awk '{ print $2 }' "$tmp/sel" | median)" "$(awk '{ print $3 }' "$tmp/sel" | median)" \
    "$(awk '{ printf "[%s/%s]", $2, $3 }' "$tmp/sel")"
done

fi

if [[ $parts == *" slots "* ]]; then
echo "== a normal function at 50 calls/s open loop, $secs s, beside 20 hostile calls (2 workers)"
for r in $(seq "$rounds"); do
  for b in "${builds[@]}"; do
    start "$(path_of "$b")" --workers 2
    deploy hello "$tmp/hello.wasm" "public=true"
    deploy spin "$tmp/spin.wasm" "public=true&timeout=60000"
    deploy nap "$tmp/nap.wasm" "public=true&timeout=60000"
    curl -s -o /dev/null "$base/faas/hello" # compiled and warm
    for i in $(seq 10); do
      curl -s -o /dev/null --max-time 120 "$base/faas/spin" & bg+=($!)
      curl -s -o /dev/null --max-time 120 "$base/faas/nap?arg=25000" & bg+=($!)
    done
    # the 20 are running (or waiting: what the old server does with them)
    for _ in $(seq 200); do
      [ "$(curl -s "$base/metrics" | awk '$1 == "mote_calls_in_flight" { print $2 }')" -ge 2 ] 2>/dev/null && break
      sleep 0.05
    done
    res=$("$hc" openloop 127.0.0.1 "$port_" 50 "$secs" /faas/hello --timeout 10000)
    echo "$b $res" >>"$tmp/open.txt"
    for p in "${bg[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    bg=()
    stop
  done
done
for b in "${builds[@]}"; do
  awk -v b="$b" '$1 == b' "$tmp/open.txt" >"$tmp/sel"
  printf '%-4s ok %s%% p50 %s us p99 %s us (rounds: %s)\n' "$b" \
    "$(awk '{ gsub(/[()%]/, "", $6); print $6 }' "$tmp/sel" | median)" \
    "$(awk '{ print $8 }' "$tmp/sel" | median)" "$(awk '{ print $10 }' "$tmp/sel" | median)" \
    "$(awk '{ $1 = ""; printf "[%s ]", $0 }' "$tmp/sel")"
done
fi

if [[ $parts == *" slow "* ]]; then
echo "== 60 slow readers of a 15 MiB response, not reading for $slow_s s: peak RSS, then replies read"
clang-19 --target=wasm32-wasi -O2 "$here/../tests/server/programs/big.c" -o "$tmp/big.wasm" || exit 1
slow_builds=("${builds[@]}" new128)
for r in $(seq "$rounds"); do
  for b in "${slow_builds[@]}"; do
    args=(--workers 2 --queue 128) # all 60 calls queued, none refused for the queue
    [ "$b" = new128 ] && args+=(--response-budget 128)
    start "$(path_of "${b%128}")" "${args[@]}"
    deploy big "$tmp/big.wasm" "public=true&max_queue=64"
    curl -s -o /dev/null "$base/faas/big?arg=15" # compiled and warm
    base_rss=$(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$pid/status")
    mkfifo "$tmp/ctl"
    "$hc" slowread 127.0.0.1 "$port_" 60 "/faas/big?arg=15" --spread 20 <"$tmp/ctl" >"$tmp/slow.out" 2>&1 &
    reader=$!
    exec {ctl}>"$tmp/ctl"
    peak=0
    end=$((SECONDS + slow_s))
    while [ $SECONDS -lt $end ]; do
      rss=$(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$pid/status")
      [ "$rss" -gt "$peak" ] && peak=$rss
      sleep 0.1
    done
    exec {ctl}>&-
    wait "$reader" 2>/dev/null
    rm -f "$tmp/ctl"
    echo "$b $base_rss $peak $(grep '^complete' "$tmp/slow.out")" >>"$tmp/slow.txt"
    stop
  done
done
for b in "${slow_builds[@]}"; do
  awk -v b="$b" '$1 == b' "$tmp/slow.txt" >"$tmp/sel"
  printf '%-6s RSS before %s MB, peak %s MB; read after: %s replies 200 whole, %s others whole (rounds: %s)\n' \
    "$b" "$(awk '{ print $2 }' "$tmp/sel" | median)" "$(awk '{ print $3 }' "$tmp/sel" | median)" \
    "$(awk '{ print $5 }' "$tmp/sel" | median)" "$(awk '{ print $7 }' "$tmp/sel" | median)" \
    "$(awk '{ printf "[%s %s %s/%s]", $2, $3, $5, $7 }' "$tmp/sel")"
done
fi

#!/usr/bin/env bash
# make bench-cluster: figures of a mote cluster on loopback (one etcd member,
# nodes of `mote serve --cluster` on 127.0.0.N, HAProxy from `mote cluster
# haproxy-config`, kept current by `mote cluster haproxy-sync`). Prints
# figures and writes bench/out/cluster.txt; asserts nothing.
#
#   1. calls/s through HAProxy with 1, 2 and 3 nodes serving (the others
#      drained), 24 copies of hello so that `balance uri` spreads them;
#      rounds alternate 1-2-3 and 3-2-1, medians of RUNS rounds;
#   2. a node killed -9 under wrk load through HAProxy: wrk's failed calls,
#      and a probe's (curl one call after another through HAProxy, each
#      stamped): failed calls and the time from the kill to the last one
#      that failed;
#   3. deploy on one node to served on all three (each node its own load,
#      not forwarding) for a ~100 KB module, a new module each run;
#   4. a new empty node's catch-up on the example functions (make
#      functions: lpr, resize, recognize): until it serves them all, and
#      until all are on the opt tier; with the compiled objects fetched from
#      its peers and with --no-peer-objects (compiling them itself),
#      alternated, CATCHUP_RUNS each.
# usage: bench/cluster.sh [BUILD_DIR]   (RUNS, DURATION seconds of wrk, CATCHUP_RUNS)
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
test_name=bench-cluster
. tests/server/server_lib.sh
. tests/cluster/cluster_lib.sh
. bench/lib.sh
runs=${RUNS:-3}
dur=${DURATION:-5}
catchup_runs=${CATCHUP_RUNS:-2}
out=bench/out
mkdir -p "$out"
for tool in etcd haproxy wrk jq; do
  command -v $tool >/dev/null || { echo "bench-cluster: $tool is missing (scripts/deps.sh --bench)"; exit 1; }
done
for f in lpr resize recognize; do
  [ -f "$build/functions/$f.wasm" ] || { echo "bench-cluster: $build/functions/$f.wasm is missing (make functions)"; exit 1; }
done

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
ms() { echo $(($(date +%s%N) / 1000000)); }
report() { echo "$*" | tee -a "$out/cluster.txt"; }
: >"$out/cluster.txt"
report "bench-cluster: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $(date -u +%FT%TZ)"

clang-19 --target=wasm32-wasi -O2 bench/programs/hello.c -o "$tmp/hello.wasm" || exit 1

etcd_start 1 || exit 1
for n in a b c; do node_start $n || exit 1; done
auth=$dev_auth
nf=24 # copies of hello: balance uri hashes paths, and few paths spread unevenly
for ((i = 1; i <= nf; i++)); do
  on a PUT "/v1/functions/f$i?public=true" -H 'Content-Type: application/wasm' --data-binary "@$tmp/hello.wasm"
  [ "$code" = 201 ] || { echo "deploy f$i: $code $body"; exit 1; }
done
for ((i = 1; i <= nf; i++)); do wait_served f$i 1 a b c || exit 1; done
haproxy_start || exit 1
cat >"$tmp/rotate.lua" <<LUA
local i = 0
request = function()
  i = i % $nf + 1
  return wrk.format("GET", "/faas/f" .. i .. "?arg=x")
end
LUA

# ---- 1. calls/s through HAProxy with 1, 2, 3 nodes ----------------------------------------------
# k nodes serving: a, then b, then c; the rest drained (/healthz 503: HAProxy
# takes them out; their functions unplaced).
serve_on() { # K
  local k=$1 i=0 n
  for n in a b c; do
    i=$((i + 1))
    if [ $i -le "$k" ]; then "$mote" cluster undrain $n --cluster "$etcd_urls" >/dev/null
    else "$mote" cluster drain $n --cluster "$etcd_urls" >/dev/null; fi
  done
  wait_converged a b c || return 1
  i=0
  for n in a b c; do
    i=$((i + 1))
    [ $i -le "$k" ] || continue
    for ((f = 1; f <= nf; f++)); do wait_served f$f 1 $n || return 1; done
    until [ "$(hap_server "${node_url[$n]}" | cut -d' ' -f1)" = UP ]; do sleep 0.05; done
  done
  local up
  until up=$(curl -s "$hap_stats" | awk -F, '$1 == "nodes" && $2 ~ /^n[0-9]+$/ && $18 == "UP"' | wc -l) && [ "$up" = "$k" ]; do
    sleep 0.05
  done
}
declare -A rps
for ((r = 1; r <= runs; r++)); do
  order="1 2 3"; [ $((r % 2)) = 0 ] && order="3 2 1"
  for k in $order; do
    serve_on $k || { echo "bench-cluster: could not serve on $k node(s)"; exit 1; }
    wrk -t2 -c16 -d1s -s "$tmp/rotate.lua" "$hap_url" >/dev/null 2>&1 # warm
    w=$(wrk -t2 -c16 -d${dur}s -s "$tmp/rotate.lua" "$hap_url" 2>&1)
    v=$(echo "$w" | awk '/Requests\/sec/ { print $2 }')
    bad=$(echo "$w" | awk '/Non-2xx/ { print $NF }')
    echo "  round $r, $k node(s): $v calls/s${bad:+ ($bad non-2xx)}" >&2
    rps[$k]+="$v "
  done
done
report ""
report "1. calls/s through HAProxy (wrk -t2 -c16 -d${dur}s, $nf hello functions, balance uri), median of $runs rounds:"
for k in 1 2 3; do
  report "   $k node(s): $(echo ${rps[$k]} | tr ' ' '\n' | median) calls/s   (rounds: ${rps[$k]})"
done
serve_on 3 || exit 1

# ---- 2. a node killed -9 under load ----------------------------------------------------------------
victim=c
: >"$tmp/probe"
(
  i=0
  while [ ! -e "$tmp/probe.stop" ]; do
    i=$((i % nf + 1))
    c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$hap_url/faas/f$i?arg=p")
    echo "$(ms) $c" >>"$tmp/probe"
  done
) &
probe=$!
wrk -t2 -c16 -d$((dur + 4))s -s "$tmp/rotate.lua" "$hap_url" >"$tmp/wrk-kill" 2>&1 &
wrk_pid=$!
until [ "$(wc -l <"$tmp/probe")" -ge 50 ]; do sleep 0.02; done # load under way
t_kill=$(ms)
node_kill $victim
wait $wrk_pid
touch "$tmp/probe.stop"; wait $probe
probe_n=$(awk -v t=$t_kill '$1 >= t' "$tmp/probe" | wc -l)
probe_bad=$(awk -v t=$t_kill '$1 >= t && $2 != 200' "$tmp/probe" | wc -l)
last_bad=$(awk -v t=$t_kill '$1 >= t && $2 != 200 { l = $1 } END { printf "%.0f\n", l }' "$tmp/probe")
wrk_total=$(awk '/requests in/ { print $1 }' "$tmp/wrk-kill")
wrk_non2xx=$(awk '/Non-2xx/ { print $NF }' "$tmp/wrk-kill")
wrk_sock=$(grep 'Socket errors' "$tmp/wrk-kill" | sed 's/^ *//')
report ""
report "2. node $victim killed -9 under load (wrk -t2 -c16 through HAProxy, 3 nodes):"
report "   wrk: ${wrk_total:-?} calls, ${wrk_non2xx:-0} non-2xx${wrk_sock:+, $wrk_sock}"
if [ "$probe_bad" = 0 ]; then
  report "   probe after the kill: $probe_n calls, none failed (time until none fail: 0 ms)"
else
  report "   probe after the kill: $probe_n calls, $probe_bad failed; the last failed $((last_bad - t_kill)) ms after the kill"
fi
until [ "$(curl -s "${node_ops[a]}/healthz" | jq -r .nodes)" = 2 ]; do sleep 0.05; done
node_start $victim || exit 1 # rejoins on its data directory

# ---- 3. deploy to served on all three, a ~100 KB module -----------------------------------------------
big_wasm() { # SEED OUT: ~100 KB, 75 KB of it a table of its own (stripped)
  awk -v s="$1" 'BEGIN { printf "static const unsigned table[19200] = {\n"; x = s * 7919 + 1
                   for (i = 0; i < 19200; i++) { x = (x * 69069 + 1) % 4294967296; printf "%u,", x
                                                if (i % 16 == 15) printf "\n" }
                   print "};" }' >"$tmp/table.h"
  cat >"$tmp/big.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "table.h"
int main(int argc, char **argv) {
  unsigned i = argc > 1 ? (unsigned)atoi(argv[1]) : 0;
  printf("%u\n", table[i % (sizeof table / sizeof table[0])]);
  return 0;
}
C
  clang-19 --target=wasm32-wasi -O2 -Wl,--strip-all -I"$tmp" "$tmp/big.c" -o "$2"
}
acks=() alls=()
for ((r = 1; r <= runs + 2; r++)); do
  big_wasm $r "$tmp/big.wasm" || exit 1
  size=$(stat -c %s "$tmp/big.wasm")
  t0=$(ms)
  on a PUT "/v1/functions/big?public=true" -H 'Content-Type: application/wasm' --data-binary "@$tmp/big.wasm"
  t1=$(ms)
  [ "$code" = 201 ] || { echo "deploy big: $code $body"; exit 1; }
  v=$(jget .version)
  wait_served big "$v" a b c || exit 1
  t2=$(ms)
  echo "  run $r ($size bytes): 201 after $((t1 - t0)) ms, served by a, b, c after $((t2 - t0)) ms" >&2
  acks+=($((t1 - t0))) alls+=($((t2 - t0)))
done
report ""
report "3. deploy on a to served by a, b and c, a new $((size / 1024)) KB module each run (median of $((runs + 2))):"
report "   201 after $(printf '%s\n' "${acks[@]}" | median) ms; served by all three after $(printf '%s\n' "${alls[@]}" | median) ms (goal: under 2000 ms)"
report "   (runs: 201 ${acks[*]} ms; all ${alls[*]} ms)"

# ---- 4. a new empty node's catch-up on the example functions -----------------------------------------
for ((f = 1; f <= nf; f++)); do on a DELETE /v1/functions/f$f >/dev/null; done
on a DELETE /v1/functions/big >/dev/null
MOTE_AUTH=$auth scripts/deploy-functions.sh "$build" "${node_url[a]}" >/dev/null || exit 1
for f in lpr resize recognize; do
  for n in a b c; do
    bench_wait_opt "${node_url[$n]}" "$auth" $f || { echo "bench-cluster: $f not on the opt tier on $n"; exit 1; }
  done
done
declare -A serve_ms opt_ms
for ((r = 1; r <= catchup_runs; r++)); do
  for way in peers local; do
    name=new-$way-$r
    extra=(); [ $way = local ] && extra=(--no-peer-objects)
    t0=$(ms)
    node_start $name "${extra[@]}" || exit 1
    for f in lpr resize recognize; do wait_served $f 1 $name || exit 1; done
    t1=$(ms)
    for f in lpr resize recognize; do bench_wait_opt "${node_url[$name]}" "$auth" $f || exit 1; done
    t2=$(ms)
    fetched=$(curl -s "${node_ops[$name]}/metrics" | awk '$1 == "mote_cluster_objects_total{way=\"fetched\"}" { print $2 }')
    echo "  $name: serving after $((t1 - t0)) ms, all opt after $((t2 - t0)) ms, ${fetched:-0} objects fetched" >&2
    serve_ms[$way]+="$((t1 - t0)) " opt_ms[$way]+="$((t2 - t0)) "
    node_kill $name
  done
done
report ""
report "4. a new empty node catching up on lpr, resize, recognize (start to serving all / all on the opt tier), median of $catchup_runs:"
report "   objects fetched from peers: serving $(echo ${serve_ms[peers]} | tr ' ' '\n' | median) ms, opt $(echo ${opt_ms[peers]} | tr ' ' '\n' | median) ms   (runs: ${serve_ms[peers]}/ ${opt_ms[peers]})"
report "   compiled itself:            serving $(echo ${serve_ms[local]} | tr ' ' '\n' | median) ms, opt $(echo ${opt_ms[local]} | tr ' ' '\n' | median) ms   (runs: ${serve_ms[local]}/ ${opt_ms[local]})"
report ""
report "(2 cores for etcd, HAProxy, wrk and every node: calls/s cannot grow with nodes here; see bench/README.md)"

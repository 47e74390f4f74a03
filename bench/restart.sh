#!/usr/bin/env bash
# Restart-to-serving with 100 deployed functions (issue 15), old against
# new in one run: 100 functions are deployed once (hello, lookup, sorted,
# whose mote_init sorts 1 MiB of words (~70 ms), and the example functions
# when built; as many of each: every name initialises on its own), their
# opt tiers built; then the server is restarted ROUNDS times each way,
# alternating:
#   old  --no-kept-snapshots: every start runs every function's
#        initialisation (start function, mote_init), as before issue 15
#   new  the snapshots kept in the store are loaded: no mote_init runs
# and for each start it measures the time from launching `mote serve` to
# its first answer (every function is loaded before it listens) and to
# the answers of one call to each of the 100 (one curl, keep-alive).
# Prints medians in ms and the load average. Writes bench/out/restart.txt.
# usage: bench/restart.sh [BUILD_DIR]    env: ROUNDS (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${ROUNDS:-5}
out=bench/out
work=$(mktemp -d /tmp/mote-bench-restart-XXXXXX)
pid=
dev=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "bench-restart: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$out"
fn=$build/functions
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port

# The modules: hello, lookup (bench/server.sh's 1 MiB table) and, when
# `make functions` built them, lpr, resize and recognize as bundles.
. bench/lib.sh
clang-19 --target=wasm32-wasi -O2 bench/programs/hello.c -o "$work/hello.wasm"
bench_lookup_wasm "$work"
clang-19 --target=wasm32-wasi -O2 bench/programs/sorted.c -o "$work/sorted.wasm"
kinds=(hello lookup sorted)
declare -A file type query
for k in "${kinds[@]}"; do file[$k]=$work/$k.wasm; type[$k]=application/wasm; query[$k]=; done
if [ -f "$fn/recognize/weights.bin" ]; then
  for f in lpr resize recognize; do
    bench_bundle "$fn" "$f" "$work/$f.tar.gz"
    file[$f]=$work/$f.tar.gz; type[$f]=application/gzip; query[$f]=
    kinds+=("$f")
  done
  query[lpr]='?arg=QQ9999Q'
fi
declare -A count
names=()
for i in $(seq 0 99); do
  k=${kinds[$((i % ${#kinds[@]}))]}
  count[$k]=$((${count[$k]:-0} + 1))
  names+=("$k${count[$k]}")
done

# The compile cache is bench-server's: shared, kept between runs.
cache=$build/bench-server-cache
mkdir -p "$cache" "$work/data"
ln -s "$(cd "$cache" && pwd)" "$work/data/cache"
start() { # FLAGS...: launches the server; sets pid
  "$build/mote" serve --dev --listen "127.0.0.1:$port" $(bench_no_metrics "$build") \
    --data "$work/data" "$@" \
    >>"$work/server.log" 2>&1 &
  pid=$!
}
stop() {
  kill "$pid" && wait "$pid" || true
  pid=
}
start
for _ in $(seq 200); do curl -fs "$url/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
for n in "${names[@]}"; do
  k=${n%%[0-9]*}
  curl -fs -u "$dev" -X PUT -H "Content-Type: ${type[$k]}" --data-binary @"${file[$k]}" \
    "$url/v1/functions/$n?public=true" >/dev/null
done
for n in "${names[@]}"; do bench_wait_opt "$url" "$dev" "$n" || true; done
stop

# One start: "ready_ms all_ms answered from_store"
fetch=() # one curl, one connection: -o /dev/null URL for each function
for n in "${names[@]}"; do fetch+=(-o /dev/null "$url/faas/$n${query[${n%%[0-9]*}]}"); done
one_start() {
  local t0 t1 t2 codes
  t0=$(date +%s%N)
  start "$@"
  until curl -fs "$url/healthz" >/dev/null 2>&1; do :; done
  t1=$(date +%s%N)
  # Since issue 14 the server listens first and prepares the functions after
  # (503 meanwhile): "all answered" counts from their being ready (a server
  # without "start" in /healthz had them ready when it listened).
  until [ "$(curl -s "$url/healthz" | jq -r '.start // "ready"')" = ready ]; do sleep 0.01; done
  codes=$(curl -s -w '%{http_code}\n' "${fetch[@]}")
  t2=$(date +%s%N)
  local store=0
  for n in "${names[@]}"; do
    [ "$(curl -fs -u "$dev" "$url/v1/functions/$n" | jq -r .snapshot_from)" = store ] && store=$((store + 1))
  done
  stop
  sort <<<"$codes" | uniq -c | awk '{ printf "%s%s x %s", (NR > 1 ? ", " : ""), $2, $1 } END { print "" }' >"$work/codes"
  echo "$(( (t1 - t0) / 1000000 )) $(( (t2 - t0) / 1000000 )) $(grep -cE '^(200|502)$' <<<"$codes") $store"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$work/old"; : >"$work/new"
for r in $(seq "$rounds"); do
  one_start --no-kept-snapshots >>"$work/old"
  one_start >>"$work/new"
done
{
  echo "restart to serving, ${#names[@]} functions ($(for k in "${kinds[@]}"; do printf '%s %s, ' "${count[$k]}" "$k"; done)opt tier cached);"
  echo "$(nproc) cores, load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  echo "median of $rounds starts each, alternating (each start: ready ms (/healthz answers), all answered ms, calls that ran)"
  for side in old new; do
    printf '  %-4s ready %5s ms   all %5s calls answered %5s ms   (%s)\n' "$side" \
      "$(cut -d' ' -f1 "$work/$side" | median)" "$(cut -d' ' -f3 "$work/$side" | median)" \
      "$(cut -d' ' -f2 "$work/$side" | median)" "$(awk '{ printf "%s%s/%s/%s", (NR > 1 ? ", " : ""), $1, $2, $3 }' "$work/$side")"
  done
  echo "  functions served from a kept snapshot: old $(tail -1 "$work/old" | cut -d' ' -f4), new $(tail -1 "$work/new" | cut -d' ' -f4) of ${#names[@]}"
  echo "  statuses of the last start's calls: $(cat "$work/codes") (502: the function itself failed, e.g. no input)"
  echo "  old: --no-kept-snapshots (every mote_init runs); new: the kept snapshots"
} | tee "$out/restart.txt"

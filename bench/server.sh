#!/usr/bin/env bash
# The server end to end, measured with wrk: a real `mote serve`, the hello
# function (bench/programs/hello.c, clang-19 -> wasm) deployed and on its opt
# tier, then
#   - latency at one client over keep-alive (wrk -t1 -c1, median and p99),
#     against GET /healthz on the same server as the baseline (HTTP alone);
#   - the server's own split of a call (median wait/init/exec us of the
#     last 1000 activation records);
#   - throughput at saturation (wrk -t2 -c16), calls and /healthz;
#   - the server's resident memory over CALLS calls (default 1,000,000),
#     sampled after every 10 s round of wrk.
# Every call is a fresh instance. hello is deployed with max_queue=16, so
# that the 16 connections of the saturation runs wait for the 2 workers
# instead of meeting the per-function queue's default (half the server's
# queue) and its 429s. The server runs with --dev: the /v1 routes get its
# key, hello is deployed public=true (its calls carry no key, as before keys
# existed), and the same module as the private "hello_key" is called with
# the key once more at one client: what checking it costs (the key cache of
# auth.c). Writes bench/out/server.txt.
# usage: bench/server.sh [BUILD_DIR]    env: DURATION (s, default 10), CALLS
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
duration=${DURATION:-10}
calls=${CALLS:-1000000}
out=bench/out
work=$(mktemp -d /tmp/mote-bench-server-XXXXXX)
pid=
dev=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out"
command -v wrk >/dev/null || { echo "bench-server: wrk is missing: run scripts/deps.sh" >&2; exit 1; }

clang-19 --target=wasm32-wasi -O2 bench/programs/hello.c -o "$work/hello.wasm"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
"$build/mote" serve --dev --listen "127.0.0.1:$port" --data "$work/data" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs -u "$dev" -X PUT -H 'Content-Type: application/wasm' --data-binary @"$work/hello.wasm" \
  "$url/v1/functions/hello?max_queue=16&public=true" >/dev/null
for _ in $(seq 600); do
  [ "$(curl -fs -u "$dev" "$url/v1/functions/hello" | jq -r .tier)" = opt ] && break
  sleep 0.2
done
# The same module: its opt tier is in the cache already.
curl -fs -u "$dev" -X PUT -H 'Content-Type: application/wasm' --data-binary @"$work/hello.wasm" \
  "$url/v1/functions/hello_key?max_queue=16" >/dev/null
auth_header="Authorization: Basic $(printf '%s' "$dev" | base64 -w0)"

# wrk's latency figure in microseconds ("53.00us", "1.20ms", "2.00s").
to_us() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /ms$/) n *= 1000; else if (v ~ /[0-9]s$/) n *= 1000000; printf "%.0f", n }'
}
pct() { awk -v p="$2" '$1 == p { print $2 }' "$1"; }
rps() { awk '/Requests\/sec/ { printf "%.0f", $2 }' "$1"; }
total() { awk '/requests in/ { print $1 }' "$1"; }
errors() { awk '/Non-2xx/ { n = $5 } END { print n + 0 }' "$1"; }
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$pid/status"; }

wrk -t1 -c1 -d"${duration}s" --latency "$url/healthz" >"$work/h1.txt"
wrk -t1 -c1 -d"${duration}s" --latency -H "Connection: close" "$url/faas/hello" >"$work/cc.txt"
wrk -t1 -c1 -d"${duration}s" --latency "$url/faas/hello" >"$work/c1.txt"
split=$(curl -fs -u "$dev" "$url/v1/activations?function=hello&limit=1000" | jq -r '
  def median: sort | if length == 0 then 0 else .[(length / 2 | floor)] end;
  .activations | "\(map(.wait_us) | median) \(map(.init_us) | median) \(map(.exec_us) | median)"')
read -r wait_us init_us exec_us <<<"$split"
wrk -t1 -c1 -d"${duration}s" --latency -H "$auth_header" "$url/faas/hello_key" >"$work/ck.txt"
wrk -t2 -c16 -d"${duration}s" "$url/healthz" >"$work/h16.txt"
wrk -t2 -c16 -d"${duration}s" "$url/faas/hello" >"$work/c16.txt"

h50=$(to_us "$(pct "$work/h1.txt" 50%)")
c50=$(to_us "$(pct "$work/c1.txt" 50%)")
c99=$(to_us "$(pct "$work/c1.txt" 99%)")
hr=$(rps "$work/h16.txt")
cr=$(rps "$work/c16.txt")

{
  echo "server: hello (fresh instance per call), opt tier; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg) at start"
  echo
  echo "one client, keep-alive (wrk -t1 -c1 -d${duration}s)"
  printf '  %-22s median %6s us   p99 %7s us\n' "GET /healthz" "$h50" "$(to_us "$(pct "$work/h1.txt" 99%)")"
  printf '  %-22s median %6s us   p99 %7s us   (%s non-2xx)\n' "GET /faas/hello" "$c50" "$c99" "$(errors "$work/c1.txt")"
  awk -v c="$c50" -v h="$h50" 'BEGIN { printf "  call / healthz median: %.2fx; the call adds %d us\n", c / h, c - h }'
  printf '  %-22s median %6s us   p99 %7s us   (%s non-2xx; not public, the key sent)\n' \
    "GET /faas/hello_key" "$(to_us "$(pct "$work/ck.txt" 50%)")" "$(to_us "$(pct "$work/ck.txt" 99%)")" \
    "$(errors "$work/ck.txt")"
  echo "  server-side median of the last 1000 calls: wait $wait_us us, init $init_us us, exec $exec_us us"
  printf '  %-22s median %6s us   p99 %7s us   (a new connection per call)\n' "GET /faas/hello" \
    "$(to_us "$(pct "$work/cc.txt" 50%)")" "$(to_us "$(pct "$work/cc.txt" 99%)")"
  echo
  echo "saturation (wrk -t2 -c16 -d${duration}s)"
  printf '  %-22s %7s requests/s\n' "GET /healthz" "$hr"
  printf '  %-22s %7s calls/s   (%s non-2xx)\n' "GET /faas/hello" "$cr" "$(errors "$work/c16.txt")"
  awk -v c="$cr" -v h="$hr" 'BEGIN { printf "  calls / healthz: %.2f\n", c / h }'
  echo
  echo "memory over $calls calls (wrk -t2 -c16, 10 s rounds): server RSS"
  done_calls=$(( $(total "$work/c1.txt") + $(total "$work/c16.txt") + $(total "$work/ck.txt") ))
  first=$(rss_kb)
  half=
  printf '  %10s calls  %8s KiB\n' "$done_calls" "$first"
  while [ "$done_calls" -lt "$calls" ]; do
    wrk -t2 -c16 -d10s "$url/faas/hello" >"$work/round.txt"
    done_calls=$((done_calls + $(total "$work/round.txt")))
    now=$(rss_kb)
    [ -z "$half" ] && [ "$done_calls" -ge $((calls / 2)) ] && half=$now
    printf '  %10s calls  %8s KiB   (%s non-2xx)\n' "$done_calls" "$now" "$(errors "$work/round.txt")"
  done
  awk -v a="$first" -v b="$(rss_kb)" 'BEGIN { printf "  RSS from first to last sample: %+d KiB (%.2fx)\n", b - a, b / a }'
  # Caches and malloc arenas warm up first; a leak keeps growing.
  if [ -n "$half" ]; then # (none when CALLS is 0: bench/server_ab.sh)
    awk -v a="$half" -v b="$(rss_kb)" \
      'BEGIN { printf "  RSS over the second half of the calls: %+d KiB\n", b - a }'
  fi
} | tee "$out/server.txt"

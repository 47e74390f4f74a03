#!/usr/bin/env bash
# The server end to end, measured with wrk.
#
# First, old path against new (issue 15), in one run: two servers, one with
# `--images copy` (a call's memory is the snapshot's image copied in: the
# only way before) and one with the default (mapped copy-on-write and reset
# to the image), each with hello, lookup (bench/programs/lookup.c: a 1 MiB
# data segment) and, when `make functions` has built them, the example
# functions lpr, resize and recognize deployed, all on the opt tier. Rounds
# alternate between the two servers (only one is loaded at a time):
#   - X-Mote-Init-Us and X-Mote-Exec-Us of every function (median of the
#     activation records of ROUNDS x 1 s of wrk -t1 -c1 per server);
#   - calls/s at wrk -t2 -c16 for hello and lookup (median of ROUNDS rounds
#     of DURATION/2 s).
# Then, on the new server alone, with hello:
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
# usage: bench/server.sh [BUILD_DIR]    env: DURATION (s, default 10), CALLS, ROUNDS (5)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
duration=${DURATION:-10}
calls=${CALLS:-1000000}
rounds=${ROUNDS:-5}
out=bench/out
work=$(mktemp -d /tmp/mote-bench-server-XXXXXX)
pid=
old_pid=
dev=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
cleanup() {
  [ -n "$old_pid" ] && kill "$old_pid" 2>/dev/null && wait "$old_pid" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out"
command -v wrk >/dev/null || { echo "bench-server: wrk is missing: run scripts/deps.sh" >&2; exit 1; }

. bench/lib.sh
clang-19 --target=wasm32-wasi -O2 bench/programs/hello.c -o "$work/hello.wasm"
bench_lookup_wasm "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The compile cache is kept between runs and shared by both servers: the
# example functions' -O2 compiles take minutes.
cache=$build/bench-server-cache
mkdir -p "$cache" "$work/old" "$work/new"
ln -s "$(cd "$cache" && pwd)" "$work/old/cache"
ln -s "$(cd "$cache" && pwd)" "$work/new/cache"
port=$(free_port)
url=http://127.0.0.1:$port
no_metrics=$(bench_no_metrics "$build")
"$build/mote" serve --dev --listen "127.0.0.1:$port" $no_metrics --data "$work/new" >"$work/server.log" 2>&1 &
pid=$!
old_port=$(free_port)
old_url=http://127.0.0.1:$old_port
"$build/mote" serve --dev --images copy --listen "127.0.0.1:$old_port" $no_metrics --data "$work/old" \
  >"$work/old-server.log" 2>&1 &
old_pid=$!
for u in "$url" "$old_url"; do
  for _ in $(seq 100); do curl -fs "$u/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
done

# What each function is called with (query and body file, - for none).
fn=$build/functions
funcs=(hello lookup)
declare -A query body
query[hello]=; body[hello]=-
query[lookup]=; body[lookup]=-
deploy() { # URL NAME FILE TYPE
  curl -fs -u "$dev" -X PUT -H "Content-Type: $4" --data-binary @"$3" \
    "$1/v1/functions/$2?max_queue=16&public=true" >/dev/null
}
for u in "$url" "$old_url"; do
  deploy "$u" hello "$work/hello.wasm" application/wasm
  deploy "$u" lookup "$work/lookup.wasm" application/wasm
done
if [ -f "$fn/recognize/weights.bin" ] && [ -f "$fn/images/china.jpg" ]; then
  for f in lpr resize recognize; do
    bench_bundle "$fn" "$f" "$work/$f.tar.gz"
    for u in "$url" "$old_url"; do deploy "$u" "$f" "$work/$f.tar.gz" application/gzip; done
    funcs+=("$f")
  done
  query[lpr]='?arg=QQ9999Q'; body[lpr]=-
  query[resize]='?arg=50'; body[resize]=$fn/images/china.jpg
  query[recognize]=; body[recognize]=$fn/recognize-samples/sample-0.pgm
  examples=yes
else
  examples="no: run make functions first"
fi
for u in "$url" "$old_url"; do
  for f in "${funcs[@]}"; do bench_wait_opt "$u" "$dev" "$f" || true; done
done
post_lua=$work/post.lua
bench_post_lua "$post_lua"

# ---- old path against new ---------------------------------------------------------------
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A rps
for r in $(seq "$rounds"); do
  for side in old new; do
    u=$url; [ "$side" = old ] && u=$old_url
    for f in "${funcs[@]}"; do
      WRK_BODY=${body[$f]} wrk -t1 -c1 -d1s -s "$post_lua" "$u/faas/$f${query[$f]}" >/dev/null
      # This round's calls (the newest 1000 at most): init and exec us.
      curl -fs -u "$dev" "$u/v1/activations?function=$f&limit=1000" |
        jq -r '.activations[] | "\(.init_us) \(.exec_us)"' >>"$work/split-$side-$f"
    done
    for f in hello lookup; do
      wrk -t2 -c16 -d"$((duration / 2))s" "$u/faas/$f" >"$work/t.txt"
      rps[$side,$f]="${rps[$side,$f]:-} $(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$work/t.txt")"
    done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
median() { tr ' ' '\n' | awk 'NF' | sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
split_of() { # SIDE FUNCTION -> "init_median exec_median calls"
  local f=$work/split-$1-$2
  echo "$(cut -d' ' -f1 "$f" | median) $(cut -d' ' -f2 "$f" | median) $(wc -l <"$f")"
}
{
  echo "server: old path (--images copy) against new (default), rounds alternating; $(nproc) cores"
  echo "load average at the start $load_start, at the end $load_end; example functions: $examples"
  echo
  echo "X-Mote-Init-Us / X-Mote-Exec-Us, median of the calls of $rounds x 1 s rounds (wrk -t1 -c1; the"
  echo "newest 1000 of each round), us"
  printf '  %-10s %10s %10s %8s   %10s %10s %8s   %s\n' function old_init old_exec calls new_init new_exec calls "new mode"
  for f in "${funcs[@]}"; do
    read -r oi oe on <<<"$(split_of old "$f")"
    read -r ni ne nn <<<"$(split_of new "$f")"
    printf '  %-10s %10s %10s %8s   %10s %10s %8s   %s\n' "$f" "$oi" "$oe" "$on" "$ni" "$ne" "$nn" \
      "$(curl -fs -u "$dev" "$url/v1/functions/$f" | jq -r '.snapshot_image // "?"')"
  done
  echo
  echo "calls/s at wrk -t2 -c16, median of $rounds rounds of $((duration / 2)) s (each round's figures)"
  for f in hello lookup; do
    printf '  %-10s old %7s (%s)   new %7s (%s)\n' "$f" \
      "$(echo "${rps[old,$f]}" | median)" "${rps[old,$f]# }" "$(echo "${rps[new,$f]}" | median)" "${rps[new,$f]# }"
  done
  echo
} | tee "$out/server-old-new.txt"
kill "$old_pid" 2>/dev/null && wait "$old_pid" 2>/dev/null
old_pid=
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
    awk -v a="$half" -v b="$(rss_kb)" 'BEGIN { printf "  RSS over the second half of the calls: %+d KiB\n", b - a }'
  fi
} | tee "$out/server-hello.txt"
cat "$out/server-old-new.txt" "$out/server-hello.txt" >"$out/server.txt"

#!/usr/bin/env bash
# What a module the quick tier refuses costs a server (src/core/loader.c, the opt fallback):
# modules of N nested ifs in _start plus an unused type of 251 parameters (so tcc refuses them
# and gcc compiles each for seconds), on `mote serve --dev` with an empty data folder:
#   1. four such deploys sent at once: each one's answer and its time (the fallback compiles
#      take turns, so they come one after another);
#   2. one deploy whose client gives up after 2 s: how many cc1 processes run, every 0.5 s
#      (the deploy's stop reaches its compile).
# usage: probe-opt-fallback.sh MOTE [N]   (prints figures; not a test; N defaults to 8000 and
#        16000 for part 2)
set -u
mote=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
n=${2:-8000}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
wide() { # NESTED_IFS PARAMS OUT
  python3 - "$1" "$2" "$3" "$here" <<'P'
import sys
sys.path.insert(0, sys.argv[4])
import lazy_shapes as L
n, arity, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
code = (L.i32c(1) + b"\x04\x40") * n + L.END * n
open(out, "wb").write(L.start_only(code, extra_types=[L.functype([L.I32] * arity, [])]))
P
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
auth=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
"$mote" serve --dev --listen "127.0.0.1:$port" --data "$dir/data" >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
deploy() { # NAME FILE [curl args]
  local name=$1 file=$2; shift 2
  curl -s -o "$dir/$name.out" -w '%{http_code}' -u "$auth" -X PUT -H 'Content-Type: application/wasm' \
    --data-binary @"$file" "$@" "$url/v1/functions/$name"
}
echo "1. four deploys at once, $n nested ifs each"
for k in 1 2 3 4; do wide "$n" $((250 + k)) "$dir/h$k.wasm"; done
t0=$(date +%s.%N)
deployers=()
for k in 1 2 3 4; do
  (code=$(deploy "h$k" "$dir/h$k.wasm"); t=$(date +%s.%N)
   printf '   h%s: %s after %.1f s\n' "$k" "$code" "$(echo "$t - $t0" | bc)") &
  deployers+=($!)
done
wait "${deployers[@]}"
echo "2. a deploy of $((2 * n)) nested ifs whose client gives up after 2 s"
wide $((2 * n)) 251 "$dir/big.wasm"
code=$(deploy big "$dir/big.wasm" --max-time 2)
echo "   client: ${code:-none} (curl gave up)"
for i in 1 2 3 4 5 6; do
  gccs=$(pgrep -d, -P "$pid")
  count=$([ -n "$gccs" ] && pgrep -c -P "$gccs" cc1)
  echo "   +$((i * 5))00 ms after: ${count:-0} cc1 under the server"
  sleep 0.5
done
curl -s -u "$auth" -o /dev/null -w '   GET /v1/functions/big: %{http_code}\n' "$url/v1/functions/big"

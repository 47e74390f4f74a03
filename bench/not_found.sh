#!/usr/bin/env bash
# The one 404 of /faas (issue 17): what a caller may not call answers as what
# does not exist, after the same work. Times the two on one server, on one
# keep-alive connection, alternating (private, missing, private, ...): an
# anonymous client on alice's private function and on a name nobody has, then
# the same with bob's key. Prints the medians of N each (default 2000) and
# writes bench/out/not_found.txt. Not a test: a shared machine is noisy.
# usage: bench/not_found.sh [BUILD_DIR] [N]
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-2000}
test_name=not-found
. tests/server/server_lib.sh
mkdir -p bench/out
cat >"$tmp/nop.wat" <<'W'
(module (memory (export "memory") 1) (func (export "_start")))
W
wat2wasm "$tmp/nop.wat" -o "$tmp/nop.wasm" || exit 1
alice=$("$mote" keys create alice --data "$tmp/data")
bob=$("$mote" keys create bob --data "$tmp/data")
start_server 2 || { echo "not_found: the server did not start: $(cat "$tmp/err")" >&2; exit 1; }
curl -s -u "$alice" -X PUT -H 'Content-Type: application/wasm' --data-binary @"$tmp/nop.wasm" \
  "$base/v1/functions/secret" >/dev/null
args=()
for _ in $(seq "$n"); do
  args+=(-o /dev/null "$base/faas/alice/secret" -o /dev/null "$base/faas/alice/nosuch")
done
med() { sort -n | awk '{a[NR]=$1} END {printf "%.0f us", a[int((NR+1)/2)]*1e6}'; }
split() { # FILE LABEL: odd lines the private function's, even lines the missing one's
  echo "$2: private $(awk 'NR % 2 == 1' "$1" | med), missing $(awk 'NR % 2 == 0' "$1" | med)"
}
{
  echo "/faas 404s, $n each alternating on one connection ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)); medians of curl's time_total"
  curl -s -w '%{time_total}\n' "${args[@]}" >"$tmp/anon"
  split "$tmp/anon" "no key    "
  curl -s -u "$bob" -w '%{time_total}\n' "${args[@]}" >"$tmp/bob"
  split "$tmp/bob" "bob's key "
} | tee bench/out/not_found.txt

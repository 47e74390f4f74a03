#!/usr/bin/env bash
# bench/server.sh for two builds in one run, alternating A B A B ..., so
# that both see the same machine (load, frequency): each round runs the
# whole bench on one build (its memory part skipped: CALLS=0, its
# old-against-new part one round: ROUNDS=1), then the medians of the hello
# part's rounds (bench/out/server-hello.txt) are printed side by side with
# the ratio B/A. Both builds need `mote serve --images` (issue 15 on).
# usage: bench/server_ab.sh BUILD_A BUILD_B [ROUNDS]   env: DURATION (s, default 5)
# Writes bench/out/server_ab.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2 rounds=${3:-3}
work=$(mktemp -d /tmp/mote-bench-ab-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p bench/out
for i in $(seq "$rounds"); do
  for side in a b; do
    build=$a
    [ "$side" = b ] && build=$b
    # Its old-against-new part (one round here) needs --images in both builds.
    CALLS=0 ROUNDS=1 DURATION=${DURATION:-5} bench/server.sh "$build" >/dev/null
    cp bench/out/server-hello.txt "$work/$side.$i.txt"
  done
done
# One figure of a report: on line `n` (bench/server.sh's fixed layout), the
# number after the word `label`, or (label "-") the first number.
fig() {
  awk -v n="$2" -v label="$3" 'NR == n {
    for (i = 1; i <= NF; i++) {
      if (label == "-" && $i ~ /^[0-9.]+$/) { print $i; exit }
      if ($i == label) { print $(i + 1); exit }
    } }' "$1"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
row() { # title, line, label
  local ma mb
  ma=$(for i in $(seq "$rounds"); do fig "$work/a.$i.txt" "$2" "$3"; done | median)
  mb=$(for i in $(seq "$rounds"); do fig "$work/b.$i.txt" "$2" "$3"; done | median)
  printf '  %-44s %9s %9s %7s\n' "$1" "$ma" "$mb" "$(awk -v x="$ma" -v y="$mb" 'BEGIN { if (x > 0) printf "%.2f", y / x }')"
}
{
  echo "bench/server.sh, A=$a B=$b, $rounds rounds alternating (A B ...), DURATION=${DURATION:-5}s; medians of the rounds"
  printf '  %-44s %9s %9s %7s\n' "" A B "B/A"
  row "healthz, 1 client: median us" 4 median
  row "healthz, 1 client: p99 us" 4 p99
  row "call, 1 client, keep-alive: median us" 5 median
  row "call, 1 client, keep-alive: p99 us" 5 p99
  row "call with a key, 1 client: median us" 7 median
  row "call, new connection each: median us" 9 median
  row "healthz, 16 connections: requests/s" 12 -
  row "calls, 16 connections: calls/s" 13 -
  echo
  echo "rounds (A then B):"
  for i in $(seq "$rounds"); do
    for side in a b; do
      printf '  %s%s: %s |%s\n' "$side" "$i" "$(sed -n 5p "$work/$side.$i.txt" | tr -s ' ')" \
        "$(sed -n 13p "$work/$side.$i.txt" | tr -s ' ')"
    done
  done
} | tee bench/out/server_ab.txt

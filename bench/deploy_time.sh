#!/usr/bin/env bash
# Deploy-to-ready time: how long `mote compile` takes to turn a module into a
# loadable object, per tier, from an empty cache; and a cache hit.
# Prints medians of RUNS runs (default 3) and writes bench/out/deploy_time.txt.
# usage: bench/deploy_time.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${RUNS:-3}
out=bench/out
work=$(mktemp -d /tmp/mote-deploy-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

for p in bench/programs/{hello,resize,mlp,strhash}.c; do
  name=$(basename "$p" .c)
  clang-19 --target=wasm32-wasi -O2 -DSTBI_NO_SIMD "$p" -o "$work/$name.wasm"
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { date +%s%3N; }

{
  echo "deploy-to-ready ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)), median of $runs runs"
  printf '%-10s %8s %6s %12s %12s %12s\n' module size tier translate_ms cc_ms total_ms
  for wasm in "$work"/*.wasm; do
    name=$(basename "$wasm" .wasm)
    size=$(( $(stat -c %s "$wasm") / 1024 ))K
    for tier in quick opt; do
      : > "$work/t"; : > "$work/c"; : > "$work/all"
      for _ in $(seq "$runs"); do
        rm -rf "$work/cache"
        start=$(now_ms)
        line=$(MOTE_CACHE="$work/cache" "$build/mote" compile --tier "$tier" "$wasm" | tail -n1)
        echo $(( $(now_ms) - start )) >> "$work/all"
        echo "$line" | sed -E 's/.*translate ([0-9]+) ms.*/\1/' >> "$work/t"
        echo "$line" | sed -E 's/.*cc ([0-9]+) ms.*/\1/' >> "$work/c"
      done
      printf '%-10s %8s %6s %12s %12s %12s\n' "$name" "$size" "$tier" "$(median < "$work/t")" \
        "$(median < "$work/c")" "$(median < "$work/all")"
    done
    start=$(now_ms)
    MOTE_CACHE="$work/cache" "$build/mote" compile --tier opt "$wasm" > /dev/null
    printf '%-10s %8s %6s %38s\n' "$name" "$size" "hit" "$(( $(now_ms) - start )) ms (cache lookup + checksum)"
  done
} | tee "$out/deploy_time.txt"

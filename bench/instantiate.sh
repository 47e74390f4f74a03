#!/usr/bin/env bash
# Instantiation cost: a fresh instance per call is the product, so this is
# what each call pays before the guest runs. Builds the bench programs to
# wasm, then bench-instantiate measures, per module, wasi_new (+ resolving
# the imports), instantiate, free, wasi_free and the memory layer alone
# (median/p90/p99 in us over ITERS iterations, default 2000), on 1 and on
# 2 threads at once. Writes bench/out/instantiate.txt.
# usage: bench/instantiate.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
iters=${ITERS:-2000}
out=bench/out
work=$(mktemp -d /tmp/mote-instantiate-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

mods=()
for p in hello mlp resize strhash; do
  clang-19 --target=wasm32-wasi -O2 -DSTBI_NO_SIMD "bench/programs/$p.c" -o "$work/$p.wasm"
  mods+=("$work/$p.wasm")
done

{
  echo "instantiate: per-phase time (us); $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
  echo "== 1 thread"
  "$build/bench-instantiate" --cache "$build/cache" --iters "$iters" "${mods[@]}"
  echo "== 2 threads at once (samples merged)"
  "$build/bench-instantiate" --cache "$build/cache" --iters "$iters" --threads 2 "${mods[@]}"
  echo "== hello, with _start run (instantiate + run + free)"
  "$build/bench-instantiate" --cache "$build/cache" --iters "$iters" --run "$work/hello.wasm"
} | tee "$out/instantiate.txt"

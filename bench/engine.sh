#!/usr/bin/env bash
# Engine speed: CPU-bound C programs built natively (gcc -O2) and to wasm
# (clang-19 -O2), run natively, under mote (both tiers) and under Node 20.
# Each program times its own compute part (bench/programs/bench_clock.h), so
# start-up and compilation are not counted. Prints the median of RUNS runs
# (default 5) per platform, the ratios against native, and checks that every
# platform printed the same output. Writes bench/out/engine.txt.
# usage: bench/engine.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${RUNS:-5}
out=bench/out
work=$(mktemp -d /tmp/mote-engine-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
export MOTE_CACHE="$work/cache"

programs=(resize mlp strhash)
declare -A args=([resize]=50 [mlp]=2000 [strhash]=200000)
declare -A input=([resize]="$work/image.jpg" [mlp]=/dev/null [strhash]=/dev/null)

gcc -O2 bench/programs/mkimage.c -o "$work/mkimage" -lm
"$work/mkimage" 1920 1080 > "$work/image.jpg"
for p in "${programs[@]}"; do
  # stb's SSE2 path has no wasm equivalent: both builds use the portable code.
  gcc -O2 -DSTBI_NO_SIMD "bench/programs/$p.c" -o "$work/$p.native" -lm
  clang-19 --target=wasm32-wasi -O2 -DSTBI_NO_SIMD "bench/programs/$p.c" -o "$work/$p.wasm"
  "$build/mote" compile --tier opt "$work/$p.wasm" > /dev/null
  "$build/mote" compile --tier quick "$work/$p.wasm" > /dev/null
done

run_one() { # platform program -> prints compute_us; output to $work/out.<platform>.<program>
  local platform=$1 p=$2 cmd
  case $platform in
    native) cmd=("$work/$p.native" "${args[$p]}") ;;
    mote) cmd=("$build/mote" run --tier opt "$work/$p.wasm" "${args[$p]}") ;;
    mote-quick) cmd=("$build/mote" run --tier quick "$work/$p.wasm" "${args[$p]}") ;;
    node) cmd=(node tests/wasi/run-node.mjs "$work/$p.wasm" "${args[$p]}") ;;
  esac
  "${cmd[@]}" < "${input[$p]}" > "$work/out.$platform.$p" 2> "$work/err"
  sed -n 's/^compute_us=//p' "$work/err"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

platforms=(native mote mote-quick node)
{
  echo "engine: compute time per program, median of $runs runs (us); $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
  printf '%-8s %10s %10s %10s %10s %12s %12s %10s %6s\n' program native mote mote-quick node \
    mote/native quick/native node/native same
  for p in "${programs[@]}"; do
    declare -A med=()
    for platform in "${platforms[@]}"; do
      for _ in $(seq "$runs"); do run_one "$platform" "$p"; done | median > "$work/m"
      med[$platform]=$(cat "$work/m")
    done
    same=yes
    for platform in mote mote-quick node; do
      cmp -s "$work/out.native.$p" "$work/out.$platform.$p" || same="no($platform)"
    done
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
    printf '%-8s %10s %10s %10s %10s %12s %12s %10s %6s\n' "$p" "${med[native]}" "${med[mote]}" \
      "${med[mote-quick]}" "${med[node]}" "$(ratio "${med[mote]}" "${med[native]}")" \
      "$(ratio "${med[mote-quick]}" "${med[native]}")" "$(ratio "${med[node]}" "${med[native]}")" "$same"
  done
} | tee "$out/engine.txt"

#!/usr/bin/env bash
# Instantiation cost: a fresh instance per call is the product, so this is
# what each call pays before the guest runs. Builds the bench programs to
# wasm, then bench-instantiate measures, per module, wasi_new (+ resolving
# the imports), instantiate, free, wasi_free and the memory layer alone
# (median/p90/p99 in us over ITERS iterations, default 2000), on 1 and on
# 2 threads at once. Then instantiation from a snapshot by image size
# (64 KiB, 1 MiB, 16 MiB, 64 MiB) and 4 KiB pages written per call (1, 10,
# 100), the old path (copy the image in) against the new (what the runtime
# picks), rounds alternating in one run, on 1 and 4 threads, with the
# madvise reset (map-drop, the way on kernels without PAGEMAP_SCAN) too;
# and bench/memprobe.c's raw figures for a 1 MiB image.
# Writes bench/out/instantiate.txt.
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

# Images: a memory of N pages that mote_init fills with non-zero bytes, and
# touch(k, v), which writes v into k 4 KiB pages spread over it.
images=()
for pages in 1 16 256 1024; do
  bytes=$((pages * 65536))
  cat >"$work/image$pages.wat" <<EOF
(module
  (memory (export "memory") $pages)
  (func (export "mote_init") (local \$i i32)
    (loop \$l
      (i32.store (local.get \$i) (i32.or (i32.mul (local.get \$i) (i32.const 0x9e3779b1)) (i32.const 0x01010101)))
      (local.set \$i (i32.add (local.get \$i) (i32.const 4)))
      (br_if \$l (i32.lt_u (local.get \$i) (i32.const $bytes)))))
  (func (export "touch") (param \$k i32) (param \$v i32) (local \$j i32)
    (block \$done
      (loop \$l
        (br_if \$done (i32.ge_u (local.get \$j) (local.get \$k)))
        (i32.store
          (i32.shl (i32.div_u (i32.mul (local.get \$j) (i32.const $((bytes / 4096)))) (local.get \$k)) (i32.const 12))
          (local.get \$v))
        (local.set \$j (i32.add (local.get \$j) (i32.const 1)))
        (br \$l)))))
EOF
  wat2wasm "$work/image$pages.wat" -o "$work/image$pages.wasm"
  images+=("$work/image$pages.wasm")
done
# Iterations per round: the old path copies 64 MiB in ~12 ms.
img_iters() { case "$1" in *image1.wasm|*image16.wasm) echo 200 ;; *image256.wasm) echo 20 ;; *) echo 5 ;; esac; }

{
  echo "instantiate: per-phase time (us); $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
  echo "== 1 thread"
  "$build/bench-instantiate" --cache "$build/cache" --iters "$iters" "${mods[@]}"
  echo "== 2 threads at once (samples merged)"
  "$build/bench-instantiate" --cache "$build/cache" --iters "$iters" --threads 2 "${mods[@]}"
  echo "== hello, with _start run (instantiate + run + free)"
  "$build/bench-instantiate" --cache "$build/cache" --iters "$iters" --run "$work/hello.wasm"
  echo
  echo "== from a snapshot, by image size and 4 KiB pages written; old = copy the image in,"
  echo "   new = the runtime's choice, drop = mapped and reset by madvise (kernels without"
  echo "   PAGEMAP_SCAN); medians in us over 10 alternating rounds; load $(cut -d' ' -f1 /proc/loadavg)"
  for t in 1 4; do
    echo "-- $t thread(s) at once"
    for img in "${images[@]}"; do
      "$build/bench-images" --cache "$build/cache" --iters "$(img_iters "$img")" --rounds 10 \
        --threads "$t" --drop --touch 1,10,100 "$img" | { [ "$img" = "${images[0]}" ] && cat || tail -n +2; }
    done
  done
  echo
  echo "== the ways to a fresh 1 MiB image without the runtime (bench/memprobe.c, 20 pages read a call)"
  "$build/memprobe" --iters 1000 --reads 20 1024 1 10 100
  echo "-- 2 threads at once"
  "$build/memprobe" --iters 1000 --threads 2 --reads 20 1024 10
  echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/instantiate.txt"

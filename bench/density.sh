#!/usr/bin/env bash
# Memory per live instance and instances alive at once (issue 15), with
# bench-density (bench/density.c): hello, counter (bench/programs) and
# recognize (when `make functions` built it: its sample image on stdin),
# 1000 live instances each, the old path (--images copy: the image copied
# into every instance) against the new (mapped copy-on-write: the image's
# pages shared); then instances alive at once, each with a 64 KiB working
# set (a 64 KiB image, every page written), up to 10,000, and on until the
# first limit stops it. Writes bench/out/density.txt.
# usage: bench/density.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=bench/out
work=$(mktemp -d /tmp/mote-bench-density-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
fn=$build/functions
for p in hello counter; do
  clang-19 --target=wasm32-wasi -O2 "bench/programs/$p.c" -o "$work/$p.wasm"
done
cat >"$work/image64k.wat" <<'W'
(module
  (memory (export "memory") 1)
  (func (export "mote_init") (local $i i32)
    (loop $l
      (i32.store (local.get $i) (i32.or (i32.mul (local.get $i) (i32.const 0x9e3779b1)) (i32.const 0x01010101)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 65536)))))
  (func (export "touch") (param $k i32) (param $v i32) (local $j i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $j) (local.get $k)))
        (i32.store (i32.shl (local.get $j) (i32.const 12)) (local.get $v))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $l)))))
W
wat2wasm "$work/image64k.wat" -o "$work/image64k.wasm"
d() { "$build/bench-density" --cache "$build/cache" "$@"; }
{
  echo "density: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
       "load $(cut -d' ' -f1-3 /proc/loadavg); vm.max_map_count $(cat /proc/sys/vm/max_map_count)"
  echo
  echo "== memory per live instance: 1000 alive, old (--images copy) then new (default)"
  for mode in copy auto; do
    d --max 1000 --images "$mode" hello "$work/hello.wasm"
    d --max 1000 --images "$mode" counter "$work/counter.wasm"
    if [ -f "$fn/recognize/weights.bin" ]; then
      d --max 1000 --images "$mode" --stdin "$fn/recognize-samples/sample-0.pgm" \
        --dir "$fn/recognize" recognize "$fn/recognize.wasm"
    fi
  done
  echo
  echo "== instances alive at once, 64 KiB working set each (new path): to 10,000"
  d --max 10000 --touch 16 image64k "$work/image64k.wasm"
  echo "== and on, to the first limit"
  d --max 100000 --touch 16 image64k "$work/image64k.wasm" | tail -3
  echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/density.txt"

#!/usr/bin/env bash
# One engine change, measured: a compute kernel of bench/programs under two mote builds (A, B)
# and natively (gcc -O2), alternating in every round, each mote with its own cache. Checks that
# A and B print the same output; prints the medians and B/A. For a change to the translator or
# its prelude, A is main's build and B the branch's; the kernels table of bench/engine.sh is the
# overall view, this is the one-change view docs/architecture.md cites.
#
#   bench/engine_ab.sh MOTE_A MOTE_B PROGRAM [ARGS...]   e.g.
#   bench/engine_ab.sh ../main/build/mote build/mote resize 50
#   SIMD=1 bench/engine_ab.sh ... kernels pixels        the wasm built with -msimd128
#   TIER=quick bench/engine_ab.sh ...                   the quick tier's code (tcc) instead of opt's
#
# RUNS (default 7) rounds. resize reads a generated 1920x1080 JPEG on stdin, as in engine.sh.
set -eu
[ $# -ge 3 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
a=$1 b=$2 p=$3
shift 3
runs=${RUNS:-7}
tier=${TIER:-opt}
[ -f "bench/programs/$p.c" ] || { echo "engine_ab: no bench/programs/$p.c" >&2; exit 2; }
work=$(mktemp -d /tmp/mote-engine-ab-XXXXXX)
trap 'rm -rf "$work"' EXIT
simd=() label=
if [ "${SIMD:-0}" = 1 ]; then simd=(-msimd128); label=" (simd)"; fi
gcc -O2 -DSTBI_NO_SIMD "bench/programs/$p.c" -o "$work/native" -lm
clang-19 --target=wasm32-wasi -O2 "${simd[@]}" -DSTBI_NO_SIMD "bench/programs/$p.c" -o "$work/p.wasm"
in=/dev/null
if [ "$p" = resize ]; then
  gcc -O2 bench/programs/mkimage.c -o "$work/mkimage" -lm
  "$work/mkimage" 1920 1080 > "$work/image.jpg"
  in=$work/image.jpg
fi
for m in "$a:ca" "$b:cb"; do
  MOTE_CACHE=$work/${m##*:} "${m%:*}" compile --tier "$tier" "$work/p.wasm" > /dev/null ||
    { echo "engine_ab: ${m%:*} did not compile bench/programs/$p.c's module" >&2; exit 1; }
done

compute_us() { sed -n 's/^compute_us=//p' "$work/err"; }
for _ in $(seq "$runs"); do
  "$work/native" "$@" < "$in" > /dev/null 2> "$work/err"; n=$(compute_us)
  MOTE_CACHE=$work/ca "$a" run --tier "$tier" "$work/p.wasm" "$@" < "$in" > "$work/out.a" 2> "$work/err"
  ra=$(compute_us)
  MOTE_CACHE=$work/cb "$b" run --tier "$tier" "$work/p.wasm" "$@" < "$in" > "$work/out.b" 2> "$work/err"
  rb=$(compute_us)
  if [ -z "$n" ] || [ -z "$ra" ] || [ -z "$rb" ]; then
    echo "engine_ab: a run printed no compute_us; its stderr: $(tail -3 "$work/err")" >&2; exit 1
  fi
  cmp -s "$work/out.a" "$work/out.b" || { echo "engine_ab: A and B printed different outputs" >&2; exit 1; }
  echo "$n $ra $rb"
done > "$work/rows"
med() { awk -v c="$1" '{print $c}' "$work/rows" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
awk -v n="$(med 1)" -v ra="$(med 2)" -v rb="$(med 3)" -v what="$p $*$label, $tier tier" -v runs="$runs" \
  'BEGIN { printf "%s: native %d us, A %d us (%.3fx), B %d us (%.3fx), B/A %.3f; medians of %d\n",
           what, n, ra, ra / n, rb, rb / n, rb / ra, runs }'

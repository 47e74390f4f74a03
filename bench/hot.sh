#!/usr/bin/env bash
# The hot tier of lazy objects (src/compile/lazy_hot.c): a program's whole first run on the
# quick tier with the hot tier off (MOTE_LAZY_HOT=0) against on (the default), the two
# alternating per round (and which goes first, from round to round); medians of ROUNDS
# (default 3; odd, or the lower middle), ms, and on/off. A failed run stops the script. Programs (of
# bench/corpus.sh's corpus, those present):
#   yosys  synthesis of bench/corpus/design.v (bench/engine.sh's command), lazy by auto; the
#          core is compiled once first, so each run is its calls' batches and its run
#   zstd   zstd -9 of input.txt made lazy (MOTE_QUICK_LAZY=always: auto builds it eager), from
#          a cold cache each run, as a first answer
# Each run's output is compared with the first's. Writes bench/out/hot.txt.
# usage: bench/hot.sh [BUILD_DIR]   (PROGRAMS="yosys zstd"; CORPUS=DIR, default
# BUILD_DIR/bench-corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
unset MOTE_LAZY_HOT MOTE_QUICK_LAZY # each run sets its own
build=${1:-build}
rounds=${ROUNDS:-3}
corpus=$(realpath "${CORPUS:-$build/bench-corpus}")
mote=$(realpath "$build/mote")
out=bench/out
work=$(mktemp -d /tmp/mote-hot-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run() { # PROGRAM HOT(0|default) -> wall ms; output to $work/out; fails if mote run did
  local name=$1 hot=$2 cache=$work/cache-$1 t0 t1 args env=()
  [ "$hot" = 0 ] && env+=(MOTE_LAZY_HOT=0)
  case $name in
    yosys) args=(--dir "$corpus/yosys-fs/share:/share:ro" --dir "$corpus:/d:ro" "$corpus/yosys.wasm"
                 -Q -T -p 'read_verilog /d/design.v; synth_ice40 -top top -noabc9 -noabc; stat') ;;
    zstd) rm -rf "$cache"; env+=(MOTE_QUICK_LAZY=always)
          args=(--dir "$corpus:/d:ro" "$corpus/zstd.wasm" /d/input.txt 9) ;;
  esac
  t0=$(now_ms)
  env MOTE_CACHE="$cache" "${env[@]}" "$mote" run --tier quick "${args[@]}" >"$work/out" \
    2>"$work/err" || { echo "hot: $name (hot $hot) failed: $(tail -3 "$work/err")" >&2; return 1; }
  t1=$(now_ms)
  echo $((t1 - t0))
}

{
  echo "hot tier: the quick tier's whole first run, hot tier off against on, alternating;"
  echo "medians of $rounds, ms"
  printf '%-8s %9s %9s %8s %6s\n' program off on on/off same
  for name in ${PROGRAMS:-yosys zstd}; do
    [ -f "$corpus/$name.wasm" ] || { echo "hot: no $corpus/$name.wasm (bench/corpus.sh): skipped"; continue; }
    [ "$name" = yosys ] && MOTE_CACHE=$work/cache-yosys "$mote" compile --tier quick "$corpus/yosys.wasm" >/dev/null
    off=() on=() same=yes ref=
    for r in $(seq "$rounds"); do
      order="0 default"
      [ $((r % 2)) = 0 ] && order="default 0" # which goes first alternates too
      for hot in $order; do
        t=$(run "$name" $hot) || exit 1
        sum=$(md5sum <"$work/out")
        [ -z "$ref" ] && ref=$sum
        [ "$sum" = "$ref" ] || same=no
        if [ $hot = 0 ]; then off+=("$t"); else on+=("$t"); fi
      done
    done
    o=$(echo "${off[*]}" | med) n=$(echo "${on[*]}" | med)
    printf '%-8s %9s %9s %7sx %6s\n' "$name" "$o" "$n" "$(awk -v a="$n" -v b="$o" 'BEGIN { printf "%.2f", a / b }')" "$same"
    echo "  off: ${off[*]}; on: ${on[*]}"
  done
} | tee "$out/hot.txt"

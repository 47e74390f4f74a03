#!/usr/bin/env bash
# The first answer from a cold cache on the quick tier, eager (MOTE_QUICK_LAZY=never: every
# function compiled by tcc before the first call) against lazy (always: a stub per function,
# batches compiled in process on first call), the two alternating per program and round;
# medians of ROUNDS (default 5), ms. Programs:
#   synthetic  bench/lazy_gen.py's module: 20000 functions (10.5 MB, ~8 MB of code), _start
#              runs 32 of them. SYNTHETIC: it stands for a big program of which a first
#              answer runs a few functions; it is not a real one.
#   ruby       CRuby 3.3 (16 MB) cannot run under mote (JS-ABI imports): its row is the time
#              to a loaded module ready for its first call (bench-lazy-ready: compile + load)
#   ruby+start with RUBY_FUNCS=FILE (the functions a short script runs, body indices one a line:
#              COVERAGE_FUNCS_OUT=FILE bench/coverage.sh): the same plus, lazily, those
#              functions' batches compiled (what its start-up would make the first call wait for)
#   flite sqlite lua zstd   the corpus (bench/corpus.sh), as bench/engine.sh's first answers
#   yosys      if CORPUS has yosys.wasm (a 30 MB WASI build of Yosys, 28 MB of code): `yosys -V`
# Also prints each program's code size and which mode auto picks. Writes bench/out/lazy.txt.
# usage: bench/lazy.sh [BUILD_DIR]   (CORPUS=DIR: where the corpus .wasm files are; default
# BUILD_DIR/bench-corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${ROUNDS:-5}
corpus=${CORPUS:-$build/bench-corpus}
mote=$(realpath "$build/mote")
ready=$(realpath "$build/bench-lazy-ready")
out=bench/out
work=$(mktemp -d /tmp/mote-lazy-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/wav"

python3 bench/lazy_gen.py 20000 32 "$work/synthetic.wat"
wat2wasm "$work/synthetic.wat" -o "$work/synthetic.wasm"

text="WebAssembly functions at the edge must answer quickly, whatever their size. The quick brown fox jumps over the lazy dog."
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

programs=(synthetic)
for p in ruby flite sqlite lua zstd yosys; do
  if [ -f "$corpus/$p.wasm" ]; then programs+=("$p"); elif [ "$p" != yosys ]; then echo "lazy: no $corpus/$p.wasm (bench/corpus.sh): skipped"; fi
  if [ "$p" = ruby ] && [ -f "$corpus/$p.wasm" ] && [ -n "${RUBY_FUNCS:-}" ]; then programs+=(ruby+start); fi
done

run() { # run PROGRAM MODE: one cold first answer, prints ms (or "fail")
  local name=$1 mode=$2 args
  case $name in
    synthetic) args=("$work/synthetic.wasm") ;;
    flite) args=(--dir "$work/wav:/out:rw" "$corpus/flite.wasm" -t "$text" -o /out/speech.wav) ;;
    sqlite) args=("$corpus/sqlite.wasm" 200000) ;;
    lua) args=(--dir "$corpus:/d:ro" "$corpus/lua.wasm" /d/bench.lua) ;;
    zstd) args=(--dir "$corpus:/d:ro" "$corpus/zstd.wasm" /d/input.txt 9) ;;
    yosys) args=("$corpus/yosys.wasm" -V) ;;
  esac
  rm -rf "$work/cache"
  local t0 t1
  t0=$(now_ms)
  if [ "$name" = ruby ] || [ "$name" = ruby+start ]; then
    local funcs=(); [ "$name" = ruby+start ] && funcs=("$RUBY_FUNCS")
    MOTE_QUICK_LAZY=$mode "$ready" "$corpus/ruby.wasm" "$work/cache" "${funcs[@]}" > "$work/$name.$mode.last" || { echo fail; return; }
  else
    # the exit status is the program's (SQLite's driver ends with a disk I/O error under
    # WASI, in both modes): timed whatever it is, as bench/engine.sh does
    MOTE_QUICK_LAZY=$mode MOTE_CACHE="$work/cache" "$mote" run --tier quick "${args[@]}" > /dev/null 2>&1 || true
  fi
  t1=$(now_ms)
  echo $((t1 - t0))
}

declare -A t
{
  echo "bench/lazy.sh: first answer from a cold cache, quick tier, eager vs lazy, median of $rounds (ms)"
  echo "$(date -u +%H:%M) start, load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
  for i in $(seq "$rounds"); do
    for name in "${programs[@]}"; do
      for mode in never always; do t[$name.$mode]+="$(run "$name" "$mode") "; done
    done
  done
  echo "$(date -u +%H:%M) end, load $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-10s %8s %8s %6s   %s\n' program eager lazy ratio runs
  for name in "${programs[@]}"; do
    e=$(echo "${t[$name.never]}" | med); l=$(echo "${t[$name.always]}" | med)
    ratio=$(awk -v e="$e" -v l="$l" 'BEGIN { if (l > 0) printf "%.2f", e / l; else print "-" }')
    printf '%-10s %8s %8s %6s   eager [%s] lazy [%s]\n' "$name" "$e" "$l" "$ratio" "${t[$name.never]}" "${t[$name.always]}"
  done
  for r in ruby ruby+start; do
    [ -f "$work/$r.always.last" ] || continue
    echo "$r, last round, bench-lazy-ready's line (compile_ms load_ms lazy [funcs_ms batches functions] cpu=ms): eager $(cat "$work/$r.never.last"), lazy $(cat "$work/$r.always.last")"
  done
} | tee "$out/lazy.txt"

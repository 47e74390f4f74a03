#!/usr/bin/env bash
# Engine speed, in two tables (bench/out/engine.txt):
#
# 1. Compute kernels of our own (bench/programs: resize, mlp, strhash, kernels.c's hash,
#    nbody, sort, interp, pixels, and states.c's state machine) built natively (gcc -O2) and
#    to wasm (clang-19 -O2), run natively,
#    under mote (both tiers) and under Node's V8. `clang` is the same C built natively with
#    clang-19 -O2, the compiler that made the wasm: mote/clang is what the engine adds, the
#    rest of mote/native is clang's code against gcc's. Each program times its own compute part
#    (bench_clock.h): start-up and compilation are not counted. Median of RUNS runs (default
#    5), ratios against native, and whether every platform printed the same. mote-simd is
#    the same C built with -msimd128 (clang may then vectorize, as gcc -O2 does natively
#    with SSE2) on mote's opt tier. `musl` is the same C built natively against musl
#    (musl-gcc -O2), the C library wasi-libc is made from: mote/musl is the engine's share
#    when a kernel spends its time in the C library (strhash's snprintf).
# 2. Real programs nobody here wrote (bench/corpus.sh fetches and builds them: Yosys, Flite,
#    CRuby, SQLite, Lua, xxhsum with SIMD, zstd). Per program: its size; the first answer
#    from a cold cache (`mote run` with an empty cache: the quick tier is compiled, then it
#    runs; median of 3); the optimised tier's compile (wall time, chunks, peak memory of a
#    compiler process); the whole run on the optimised tier next to Node's (`node:wasi`,
#    which compiles as it goes), median of RUNS each, alternating; whether the outputs of
#    the opt tier and Node are identical (same), and whether the quick tier's is too (quick).
#
# usage: bench/engine.sh [BUILD_DIR]
#   CORPUS=0: the kernels table only; KERNELS=0: the corpus table only;
#   PROGRAMS="yosys lua": only these of the corpus; MOTE=PATH: another mote binary than
#   BUILD_DIR/mote (the corpus is still kept in BUILD_DIR/bench-corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${RUNS:-5}
out=bench/out
work=$(mktemp -d /tmp/mote-engine-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
export MOTE_CACHE="$work/cache"
mote=${MOTE:-$(cd "$build" && pwd)/mote}
node_run=$PWD/tests/wasi/run-node.mjs

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- 1. kernels -------------------------------------------------------------------------
if [ "${KERNELS:-1}" != 0 ]; then
gcc -O2 bench/programs/mkimage.c -o "$work/mkimage" -lm
"$work/mkimage" 1920 1080 > "$work/image.jpg"
for p in resize mlp strhash kernels states; do
  # stb's SSE2 path has no wasm equivalent: both builds use the portable code.
  gcc -O2 -DSTBI_NO_SIMD "bench/programs/$p.c" -o "$work/$p.native" -lm
  # the same C against musl, wasi-libc's C library (its printf, malloc, qsort, string
  # functions): what a kernel that calls them costs natively with the library the wasm has
  # (stb's headers are in /usr/include: after musl's own, for what musl lacks)
  musl-gcc -O2 -DSTBI_NO_SIMD -idirafter /usr/include "bench/programs/$p.c" -o "$work/$p.musl" -lm
  clang-19 -O2 -DSTBI_NO_SIMD "bench/programs/$p.c" -o "$work/$p.clang" -lm
  clang-19 --target=wasm32-wasi -O2 -DSTBI_NO_SIMD "bench/programs/$p.c" -o "$work/$p.wasm"
  clang-19 --target=wasm32-wasi -O2 -msimd128 -DSTBI_NO_SIMD "bench/programs/$p.c" \
    -o "$work/$p.simd.wasm"
  isa=$("$mote" compile --tier opt "$work/$p.wasm" | sed -n 's/.*; isa \([^)]*\))$/\1/p')
  "$mote" compile --tier quick "$work/$p.wasm" > /dev/null
  "$mote" compile --tier opt "$work/$p.simd.wasm" > /dev/null
done
kernels=("resize 50" "mlp 2000" "strhash 200000" "kernels hash" "kernels nbody" "kernels sort" "kernels interp" "kernels pixels" "states 300")

run_one() { # platform "program args" -> prints compute_us; output to $work/out.<platform>
  local platform=$1 p=${2%% *} args=${2#* } in=/dev/null cmd
  [ "$p" = resize ] && in=$work/image.jpg
  case $platform in
    native) cmd=("$work/$p.native" $args) ;;
    musl) cmd=("$work/$p.musl" $args) ;;
    clang) cmd=("$work/$p.clang" $args) ;;
    mote) cmd=("$mote" run --tier opt "$work/$p.wasm" $args) ;;
    mote-quick) cmd=("$mote" run --tier quick "$work/$p.wasm" $args) ;;
    mote-simd) cmd=("$mote" run --tier opt "$work/$p.simd.wasm" $args) ;;
    node) cmd=(node "$node_run" "$work/$p.wasm" $args) ;;
  esac
  "${cmd[@]}" < "$in" > "$work/out.$platform" 2> "$work/err"
  sed -n 's/^compute_us=//p' "$work/err"
}

{
  echo "engine: compute time per program, median of $runs runs (us); $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); opt tier for $isa"
  printf '%-16s %10s %10s %10s %10s %10s %10s %10s %12s %11s %10s %12s %11s %11s %6s\n' program \
    native musl clang mote mote-quick mote-simd node mote/native mote/clang mote/musl \
    quick/native simd/native node/native same
  platforms=(native musl clang mote mote-quick mote-simd node)
  for k in "${kernels[@]}"; do
    declare -A t=()
    for _ in $(seq "$runs"); do # alternating platforms
      for platform in "${platforms[@]}"; do
        t[$platform]+="$(run_one $platform "$k") "
        cp "$work/out.$platform" "$work/keep.$platform"
      done
    done
    declare -A med=()
    for platform in "${platforms[@]}"; do
      med[$platform]=$(echo "${t[$platform]}" | tr ' ' '\n' | grep . | median)
    done
    same=yes
    for platform in musl clang mote mote-quick mote-simd node; do
      cmp -s "$work/keep.native" "$work/keep.$platform" || same="no($platform)"
    done
    printf '%-16s %10s %10s %10s %10s %10s %10s %10s %12s %11s %10s %12s %11s %11s %6s\n' "$k" \
      "${med[native]}" "${med[musl]}" "${med[clang]}" "${med[mote]}" "${med[mote-quick]}" \
      "${med[mote-simd]}" "${med[node]}" \
      "$(ratio "${med[mote]}" "${med[native]}")" "$(ratio "${med[mote]}" "${med[clang]}")" \
      "$(ratio "${med[mote]}" "${med[musl]}")" \
      "$(ratio "${med[mote-quick]}" "${med[native]}")" \
      "$(ratio "${med[mote-simd]}" "${med[native]}")" "$(ratio "${med[node]}" "${med[native]}")" "$same"
    unset t med
  done
} | tee "$out/engine.txt"
fi

# ---- 2. the corpus ------------------------------------------------------------------------
[ "${CORPUS:-1}" = 0 ] && exit 0
[ "${KERNELS:-1}" = 0 ] && : > "$out/engine.txt"
bench/corpus.sh "$build"
corpus=$(cd "$build/bench-corpus" && pwd)
mkdir -p "$work/wav-mote" "$work/wav-mote-quick" "$work/wav-node"
text="WebAssembly functions at the edge must answer quickly, whatever their size. The quick brown fox jumps over the lazy dog, again and again, until the speech is long enough to measure."
xx_files=(); for _ in $(seq 20); do xx_files+=(/d/input.txt); done
# name | wasm | mote run arguments (after the module) | node arguments | output to compare
corpus_args() { # NAME PLATFORM -> sets args (array) and dir flags
  local name=$1 platform=$2 wav=$work/wav-$2
  case $name in
    # synthesis for the iCE40 FPGAs of bench/corpus/design.v, with Yosys's own LUT mapping
    # (ABC is a separate program that WASI cannot start); -Q -T: no banner, no timings
    yosys) args=(--dir "$corpus/yosys-fs/share:/share:ro" --dir "$corpus:/d:ro" "$corpus/yosys.wasm"
                 -Q -T -p 'read_verilog /d/design.v; synth_ice40 -top top -noabc9 -noabc; stat') ;;
    flite) args=(--dir "$wav:/out:rw" "$corpus/flite.wasm" -t "$text" -o /out/speech.wav) ;;
    sqlite) args=("$corpus/sqlite.wasm" 200000) ;;
    lua) args=(--dir "$corpus:/d:ro" "$corpus/lua.wasm" /d/bench.lua) ;;
    xxhsum) args=(--dir "$corpus:/d:ro" "$corpus/xxhsum.wasm" -H3 "${xx_files[@]}") ;;
    zstd) args=(--dir "$corpus:/d:ro" "$corpus/zstd.wasm" /d/input.txt 9) ;;
  esac
}
# the cold call of each program: little asked, the same code paths as its workload
cold_args() { # NAME PLATFORM -> sets args (array)
  local name=$1 wav=$work/wav-$2
  case $name in
    yosys) args=("$corpus/yosys.wasm" -V) ;;
    flite) args=(--dir "$wav:/out:rw" "$corpus/flite.wasm" -t "Hello." -o /out/hello.wav) ;;
    sqlite) args=("$corpus/sqlite.wasm" 100) ;;
    lua) args=("$corpus/lua.wasm" -e "print(string.format('%d', 6 * 7))") ;;
    xxhsum) args=(--dir "$corpus:/d:ro" "$corpus/xxhsum.wasm" -H3 /d/design.v) ;;
    zstd) args=(--dir "$corpus:/d:ro" "$corpus/zstd.wasm" /d/design.v 9) ;;
  esac
}
run_corpus() { # NAME PLATFORM (node, mote, mote-quick) -> wall ms; stdout to $work/c.<platform>
  local name=$1 platform=$2 t0 t1
  corpus_args "$name" "$platform"
  t0=$(now_ms)
  case $platform in
    node) node "$node_run" "${args[@]}" > "$work/c.$platform" 2> /dev/null ;;
    mote) "$mote" run --tier opt "${args[@]}" > "$work/c.$platform" 2> /dev/null ;;
    mote-quick) "$mote" run --tier quick "${args[@]}" > "$work/c.$platform" 2> /dev/null ;;
  esac
  t1=$(now_ms)
  if [ "$name" = flite ]; then md5sum < "$work/wav-$platform/speech.wav" >> "$work/c.$platform"; fi
  echo $((t1 - t0))
}
simd_count() { wasm2wat --enable-all "$1" 2>/dev/null | grep -cE 'v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2' || true; }

{
  echo
  echo "engine corpus: first answer from a cold cache (median of 3), opt compile, run (median of $runs); ms"
  printf '%-8s %7s %6s %9s %9s %7s %8s %9s %9s %9s %6s %6s\n' program MB simd first-ans opt-cc chunks \
    peak-MiB mote-opt node mote/node same quick
  for name in ${PROGRAMS:-yosys flite ruby sqlite lua xxhsum zstd}; do
    wasm=$corpus/$name.wasm
    mb=$(awk -v s="$(stat -c %s "$wasm")" 'BEGIN {printf "%.1f", s / 1048576}')
    simd=$(simd_count "$wasm")
    # first answer: nothing cached; `mote run` compiles the quick tier and runs
    first=-
    if [ "$name" != ruby ]; then
      for _ in 1 2 3; do
        rm -rf "$MOTE_CACHE"
        corpus_args "$name" mote
        t0=$(now_ms)
        "$mote" run "${args[@]}" > /dev/null 2>&1 || true
        echo $(( $(now_ms) - t0 ))
      done | median > "$work/first"
      first=$(cat "$work/first")
      run_corpus "$name" mote-quick > /dev/null || true # the quick tier's output (now cached); a non-zero exit (SQLite's driver) is compared, not fatal
    fi
    rm -rf "$MOTE_CACHE"
    t0=$(now_ms)
    line=$("$mote" compile --tier opt "$wasm" | tail -n 1)
    optcc=$(( $(now_ms) - t0 ))
    chunks=$(echo "$line" | sed -nE 's/.* ([0-9]+) chunks.*/\1/p')
    peak=$(echo "$line" | sed -nE 's/.*peak ([0-9]+) MiB.*/\1/p')
    if [ "$name" = ruby ]; then # imports rb-js-abi-host: compiled, not run
      printf '%-8s %7s %6s %9s %9s %7s %8s %9s %9s %9s %6s %6s\n' "$name" "$mb" "$simd" "-" "$optcc" \
        "$chunks" "$peak" "-" "-" "-" "-" "-"
      continue
    fi
    tm=""; tn=""
    for _ in $(seq "$runs"); do
      tm+="$(run_corpus "$name" mote) "
      tn+="$(run_corpus "$name" node) "
    done
    m=$(echo "$tm" | tr ' ' '\n' | grep . | median)
    n=$(echo "$tn" | tr ' ' '\n' | grep . | median)
    same=yes
    cmp -s "$work/c.mote" "$work/c.node" || same=no
    [ -s "$work/c.mote" ] || same="no(empty)"
    quick=yes
    cmp -s "$work/c.mote-quick" "$work/c.node" || quick=no
    printf '%-8s %7s %6s %9s %9s %7s %8s %9s %9s %9s %6s %6s\n' "$name" "$mb" "$simd" "$first" "$optcc" \
      "$chunks" "$peak" "$m" "$n" "$(ratio "$m" "$n")" "$same" "$quick"
  done
  # A cold call: the first answer, from a cold cache, of a call that asks for little (a
  # version, a short sentence, 100 rows, one small file), next to Node's (which also starts
  # cold: node:wasi compiles as it goes). This is what a cold start costs a caller; the
  # first-answer column above adds the quick tier's run of the whole workload.
  echo
  echo "engine corpus: a cold call (nothing cached), median of 3; ms (not CRuby: it imports rb-js-abi-host, so it is compiled, not run)"
  printf '%-8s %9s %9s %9s %6s  %s\n' program mote node mote/node same call
  for name in ${PROGRAMS:-yosys flite sqlite lua xxhsum zstd}; do
    [ "$name" = ruby ] && continue
    for platform in mote node; do
      for _ in 1 2 3; do
        rm -rf "$MOTE_CACHE" "$work/wav-$platform/hello.wav"
        cold_args "$name" "$platform"
        t0=$(now_ms)
        if [ $platform = mote ]; then "$mote" run "${args[@]}" > "$work/v.$platform" 2> /dev/null || true
        else node "$node_run" "${args[@]}" > "$work/v.$platform" 2> /dev/null || true; fi
        echo $(( $(now_ms) - t0 ))
        if [ "$name" = flite ]; then md5sum < "$work/wav-$platform/hello.wav" >> "$work/v.$platform"; fi
      done | median > "$work/v.ms.$platform"
    done
    same=yes; cmp -s "$work/v.mote" "$work/v.node" || same=no
    [ -s "$work/v.mote" ] || same="no(empty)"
    cold_args "$name" mote # (set in the pipeline's subshell above, for the label)
    label=${args[*]//$corpus\//}
    label=${label//$work\//}
    m=$(cat "$work/v.ms.mote"); n=$(cat "$work/v.ms.node")
    printf '%-8s %9s %9s %9s %6s  %s\n' "$name" "$m" "$n" "$(ratio "$m" "$n")" "$same" "$label"
  done
} | tee -a "$out/engine.txt"

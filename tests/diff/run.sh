#!/bin/bash
# The differential check against V8.
#
#   tests/diff/run.sh BUILD_DIR        (make diff / make diff-long run it)
#
# For module i = 1..DIFF_COUNT: input bytes from a seeded generator
# (bytes.mjs: SEED, i) -> `wasm-opt --translate-to-fuzz` -> the module runs in
# Node (run-node.mjs) and in mote (BUILD/diff-runner); both print a canonical
# text of every log call and export result or trap, which must be equal.
#
# Environment:
#   DIFF_SEED         the run's seed (default: 1); printed, with the command
#                     that reproduces a failure
#   DIFF_COUNT        modules to run (default 150)
#   DIFF_TIER         opt (gcc -O2, default) or quick (tcc)
#   DIFF_JOBS         modules run at once (default 2)
#   DIFF_MAX_SECONDS  stop starting modules after this long (default: none)
#   DIFF_ONLY         run only module number N of the seed (reproduce one)
#
# Modules that Node refuses to compile or that mote refuses as unsupported
# are skipped with the reason. A mismatch keeps the module as
# BUILD/diff/fail-N.wasm (N: the module's number), prints both outputs and
# fails. The last line is "diff: N passed, N failed, N skipped". Run one
# check per build directory at a time (they share BUILD/diff/fail-*).
#
# Exhaustion: stack depths differ between engines, so from the first export
# where either side ran out of stack, the rest of that module is not compared.
set -u

BUILD=${1:?usage: run.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SEED=${DIFF_SEED:-1}
COUNT=${DIFF_COUNT:-150}
TIER=${DIFF_TIER:-opt}
JOBS=${DIFF_JOBS:-2}
MAX_SECONDS=${DIFF_MAX_SECONDS:-0}
ONLY=${DIFF_ONLY:-}
RUNNER=$BUILD/diff-runner
OUT=$BUILD/diff
WORK=$OUT/work.$$ # per run: the files of the modules in flight
CACHE=$BUILD/cache
NODE=${NODE:-node}

# What mote runs: Wasm 2.0. Reference types are left out on
# purpose: binaryen 108's fuzzer emits the pre-standard form of them (funcref
# as a subtype of externref, non-nullable typed references), which is not
# Wasm 2.0 and which V8 refuses in about 90% of modules.
FEATURES=(--mvp-features --enable-bulk-memory --enable-sign-ext
          --enable-nontrapping-float-to-int --enable-mutable-globals --enable-multivalue
          --enable-simd)
# --denan: the sign and payload of a NaN that an instruction produces are
# nondeterministic in Wasm (spec: "nans"), and f32.copysign, reinterpret and
# stores make them visible (gcc folds constants to +nan where x86 computes
# -nan: both are right). binaryen's pass turns every NaN into 0 at run time.
FEATURES+=(--denan)
# The fuzzer adds its own hang limit (a global, decremented in every loop and
# call, reset by the exported hangLimitInitializer), so every module ends;
# both runners call hangLimitInitializer before each export, as binaryen's
# --fuzz-exec and its JS wrapper (--emit-js-wrapper) do.

for tool in wasm-opt "$NODE" "$RUNNER"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "diff: $tool not found" >&2
    echo "diff: 0 passed, 1 failed"
    exit 1
  fi
done
if ! [[ $SEED =~ ^[0-9]+$ && $COUNT =~ ^[0-9]+$ ]]; then
  echo "diff: DIFF_SEED and DIFF_COUNT must be numbers" >&2
  echo "diff: 0 passed, 1 failed"
  exit 1
fi

mkdir -p "$WORK" "$CACHE"
rm -f "$OUT"/fail-*

# Every other module also goes through a random set of binaryen's
# optimisation passes (--fuzz-passes): other code shapes than the raw output.
extra_flags() {
  if [ $(( $1 % 2 )) = 1 ]; then echo --fuzz-passes; fi
}

# The input size of module i: mostly small modules (fast to compile), some
# larger ones, chosen by i so a run is reproducible.
input_size() {
  case $(( $1 % 8 )) in
    0) echo 16384 ;;
    1 | 5) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

# The canonical text without diagnostics, cut before export section $2
# (1-based; 0 = before the instantiation line) when $2 is given.
cut_text() {
  awk -v k="${2:-}" '/^#/ { next } /^call / { n++ } k != "" && n >= k { exit } { print }' "$1"
}

# The number of the export section where the text first reports exhaustion
# (0 for instantiation), or nothing.
first_exhaustion() {
  awk '/^call / { n++ } /^exhaustion$|^instantiate exhaustion$/ { print n + 0; exit }' "$1"
}

# Runs module $1; writes one line to $WORK/$1.result: "pass", "pass NOTE",
# "skip REASON" or "fail REASON". Keeps $WORK/$1.* only on failure, for
# report_failure, which copies what is worth keeping to $OUT/fail-$1.*.
run_one() {
  local i=$1 base=$WORK/$1
  local wasm=$base.wasm
  local result
  result=$(
    if ! "$NODE" "$HERE/bytes.mjs" "$SEED" "$i" "$(input_size "$i")" >"$base.in"; then
      echo "fail: the input generator failed"; exit
    fi
    if ! wasm-opt "$base.in" --translate-to-fuzz $(extra_flags "$i") "${FEATURES[@]}" -o "$wasm" >"$base.gen.err" 2>&1; then
      echo "skip: wasm-opt failed: $(tail -n1 "$base.gen.err")"; exit
    fi
    timeout 120 "$NODE" "$HERE/run-node.mjs" "$wasm" >"$base.node" 2>"$base.node.err"
    rc=$?
    if [ $rc = 3 ]; then echo "skip: node refuses it: $(head -n1 "$base.node.err")"; exit; fi
    if [ $rc != 0 ]; then echo "fail: node exited with $rc"; exit; fi
    timeout 600 "$RUNNER" --cache "$CACHE" --tier "$TIER" "$wasm" >"$base.mote" 2>"$base.mote.err"
    rc=$?
    if [ $rc = 3 ]; then echo "skip: mote: unsupported: $(head -n1 "$base.mote.err")"; exit; fi
    if [ $rc != 0 ]; then
      if [ $rc -gt 128 ]; then echo "fail: diff-runner died (signal $((rc - 128)))"
      elif [ $rc = 124 ]; then echo "fail: diff-runner timed out"
      else echo "fail: diff-runner exited with $rc: $(head -n1 "$base.mote.err")"; fi
      exit
    fi
    em=$(first_exhaustion "$base.mote")
    en=$(first_exhaustion "$base.node")
    k=""
    if [ -n "$em" ] || [ -n "$en" ]; then
      k=${em:-$en}
      if [ -n "$en" ] && [ "$en" -lt "$k" ]; then k=$en; fi
    fi
    if cmp -s <(cut_text "$base.mote" "$k") <(cut_text "$base.node" "$k"); then
      if [ -n "$k" ]; then
        echo "pass: stack exhausted (mote: ${em:-no}, node: ${en:-no}) at export $k; rest not compared"
      else
        echo "pass"
      fi
    else
      echo "fail: outputs differ"
    fi
  )
  echo "$result" >"$base.result"
  case $result in
    pass* | skip*) rm -f "$base.in" "$base.wasm" "$base.gen.err" "$base.node" "$base.node.err" \
                         "$base.mote" "$base.mote.err" ;;
  esac
}

# Prints a failure: the kept module, the reason, both outputs.
report_failure() {
  local i=$1 base=$WORK/$1 why=$2
  local kept=$OUT/fail-$i.wasm
  echo "FAIL module $i (seed $SEED): ${why#fail: }"
  if [ -f "$base.wasm" ]; then
    cp "$base.wasm" "$kept"
    echo "  module: $kept"
  fi
  echo "  reproduce: DIFF_SEED=$SEED DIFF_ONLY=$i DIFF_TIER=$TIER tests/diff/run.sh $BUILD"
  echo "  run alone: $RUNNER --cache $CACHE --tier $TIER $kept; node tests/diff/run-node.mjs $kept"
  local side
  for side in mote node; do
    if [ -s "$base.$side" ]; then
      cp "$base.$side" "$OUT/fail-$i.$side.txt"
      echo "  --- $side output ($OUT/fail-$i.$side.txt, first 60 lines):"
      head -n 60 "$base.$side" | sed 's/^/    /'
    fi
    if [ -s "$base.$side.err" ]; then
      echo "  --- $side stderr (last 20 lines):"
      tail -n 20 "$base.$side.err" | sed 's/^/    /'
    fi
  done
  if [ -s "$base.mote" ] && [ -s "$base.node" ]; then
    echo "  --- diff (mote vs node, diagnostics dropped):"
    diff <(cut_text "$base.mote") <(cut_text "$base.node") | head -n 40 | sed 's/^/    /'
  fi
}

if [ -n "$ONLY" ]; then
  indices=("$ONLY")
  echo "diff: seed $SEED, module $ONLY only, tier $TIER"
else
  indices=($(seq 1 "$COUNT"))
  echo "diff: seed $SEED, $COUNT modules, tier $TIER, $JOBS jobs (DIFF_SEED=$SEED to repeat)"
fi

start=$SECONDS
started=()
for i in "${indices[@]}"; do
  if [ "$MAX_SECONDS" -gt 0 ] && [ $((SECONDS - start)) -ge "$MAX_SECONDS" ]; then
    echo "diff: time limit of ${MAX_SECONDS}s reached after ${#started[@]} modules"
    break
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  run_one "$i" &
  started+=("$i")
done
wait

passed=0 failed=0 skipped=0 exhausted=0
for i in "${started[@]}"; do
  result="fail: no result (the driver died)"
  [ -f "$WORK/$i.result" ] && read -r result <"$WORK/$i.result"
  case $result in
    pass:*) passed=$((passed + 1)); exhausted=$((exhausted + 1)); echo "module $i: $result" ;;
    pass) passed=$((passed + 1)) ;;
    skip*) skipped=$((skipped + 1)); echo "module $i: $result" ;;
    *) failed=$((failed + 1)); report_failure "$i" "$result" ;;
  esac
done
rm -rf "$WORK"
echo "diff: $((SECONDS - start))s, tier $TIER, seed $SEED; $exhausted modules compared only up to a stack exhaustion"
echo "diff: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]

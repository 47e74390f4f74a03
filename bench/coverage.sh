#!/usr/bin/env bash
# What a first answer executes: for each program of the bench-engine corpus
# (bench/corpus.sh), the functions its run executes, their share of the
# module's code, and how many of mote's chunks hold them (the chunks of
# `mote compile`, which the quick tier compiles before the first answer).
# The numbers behind the first-answer design (docs/architecture.md).
#
# How: binaryen's `wasm-opt --log-execution` puts a call of
# env.log_execution(ID) at every function entry, loop header and return;
# Node runs the instrumented module (bench/coverage-run.mjs, or
# bench/ruby-host.mjs for CRuby, which is a reactor for a JS host) and keeps
# the IDs; bench/coverage.py maps them back to functions and to the chunks of
# the work directory that `mote compile --tier quick` keeps (MOTE_KEEP_WORK).
# The runs are those of bench/engine.sh; CRuby runs RUBY_SCRIPT.
#
# usage: bench/coverage.sh [BUILD_DIR]        (needs binaryen, nodejs, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mote=$PWD/$build/mote
work=$(mktemp -d /tmp/mote-coverage-XXXXXX)
trap 'rm -rf "$work"' EXIT
bench/corpus.sh "$build" > /dev/null
corpus=$(cd "$build/bench-corpus" && pwd)
ruby_script=${RUBY_SCRIPT:-'h = {}; 200.times { |i| h["k#{i}"] = i.to_s * 3 }; puts h.values.map(&:size).sum; puts [3, 1, 2].sort.inspect; puts 2**100; $stdout.flush'}
text="WebAssembly functions at the edge must answer quickly, whatever their size."
xx_files=(); for _ in $(seq 20); do xx_files+=(/d/input.txt); done
mkdir -p "$work/out"

echo "coverage: what each program's run executes (functions, code bytes, chunks of mote compile --tier quick)"
for name in ruby flite sqlite lua xxhsum zstd; do
  log=$work/$name.log.wasm
  wasm-opt --all-features --log-execution "$corpus/$name.wasm" -o "$log"
  MOTE_KEEP_WORK=1 MOTE_CACHE=$work/cache-$name "$mote" compile --tier quick "$corpus/$name.wasm" > /dev/null
  case $name in
    ruby) cmd=(bench/ruby-host.mjs "$log" "$ruby_script") ;;
    flite) cmd=(bench/coverage-run.mjs --dir "$work/out:/out" "$log" -t "$text" -o /out/speech.wav) ;;
    sqlite) cmd=(bench/coverage-run.mjs "$log" 200000) ;;
    lua) cmd=(bench/coverage-run.mjs --dir "$corpus:/d" "$log" /d/bench.lua) ;;
    xxhsum) cmd=(bench/coverage-run.mjs --dir "$corpus:/d" "$log" -H3 "${xx_files[@]}") ;;
    zstd) cmd=(bench/coverage-run.mjs --dir "$corpus:/d" "$log" /d/input.txt 9) ;;
  esac
  # The exit status is not what is measured (sqlite's driver ends with 1 under node:wasi
  # too), but Node 20 itself often dies of SIGSEGV on the instrumented zstd (most runs at
  # one time, none at another; with any of V8's tiering flags; not investigated): such a run
  # is tried again, up to 5 times, and then the program has no figures.
  for _ in 1 2 3 4 5; do
    rm -f "$work/$name.ids"
    rc=0; LOG_OUT=$work/$name.ids node "${cmd[@]}" > /dev/null 2> "$work/$name.err" || rc=$?
    [ "$rc" -lt 128 ] && [ -f "$work/$name.ids" ] && break
  done
  if [ ! -f "$work/$name.ids" ]; then
    printf '%-8s %s\n' "$name" "no figures: node died 5 times (last status $rc)"
    continue
  fi
  printf '%-8s %s\n' "$name" "$(python3 bench/coverage.py "$log" "$work/$name.ids" "$work"/cache-$name/tmp/*/)"
done

#!/usr/bin/env bash
# One engine change, measured on a real interpreter: Lua 5.4 (the corpus's source, fetched by
# bench/corpus.sh) running bench/corpus/vm.lua, which is all bytecode, under two mote builds
# (A, B) on the opt tier and natively. Both builds come from the same source with the same
# configuration (64-bit integers, doubles): the wasm by clang-19 as corpus.sh builds lua.wasm
# but without LUA_USE_C89 (which makes lua_Integer a `long`, 32 bits on wasm32 and 64 natively),
# the native one by gcc -O2. Every round runs native, then A and B in alternating order, each
# mote with its own cache; all three must print the same. Prints the medians of the user CPU
# time and the ratios.
#
#   bench/lua_ab.sh MOTE_A MOTE_B [BUILD_DIR]   e.g.
#   bench/lua_ab.sh ../main/build/mote build/mote ../main/build
#
# RUNS (default 9) rounds; BUILD_DIR holds bench-corpus/ (default build).
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
a=$1 b=$2 corpus=${3:-build}/bench-corpus
runs=${RUNS:-9}
[ "$runs" -ge 1 ] || { echo "lua_ab: RUNS must be at least 1" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
src=$corpus/src/lua/src
[ -d "$src" ] || { echo "lua_ab: no Lua source in $src: run bench/corpus.sh first" >&2; exit 2; }
work=$(mktemp -d /tmp/mote-lua-ab-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "lua_ab: $*" >&2; exit 1; }
files=$(cd "$src" && ls *.c | grep -vE '^(luac|onelua)\.c$')
(cd "$src" && gcc -O2 $files -lm -o "$work/lua" 2> "$work/native.log") ||
  fail "native build failed: $(tail -3 "$work/native.log")"
# No setjmp in wasm 2.0: a Lua error aborts (vm.lua raises none), as in corpus.sh.
mkdir -p "$work/stub" && echo 'typedef int jmp_buf[1];' > "$work/stub/setjmp.h"
(cd "$src" && clang-19 --target=wasm32-wasi -O2 -I"$work/stub" -D_WASI_EMULATED_SIGNAL \
   -D_WASI_EMULATED_PROCESS_CLOCKS '-DLUAI_THROW(L,c)=abort()' '-DLUAI_TRY(L,c,a)={a}' \
   -Dluai_jmpbuf=int '-Dlua_tmpnam(b,e)={e=1;}' -DLUA_TMPNAMBUFSIZE=32 \
   $files "$here/corpus/wasi_stubs.c" -lwasi-emulated-signal -lwasi-emulated-process-clocks \
   -o "$work/lua.wasm" 2> "$work/wasm.log") || fail "wasm build failed: $(tail -3 "$work/wasm.log")"
cp "$here/corpus/vm.lua" "$work/"
for m in "$a:ca" "$b:cb"; do
  MOTE_CACHE=$work/${m##*:} "${m%:*}" compile --tier opt "$work/lua.wasm" > /dev/null ||
    fail "${m%:*} did not compile lua.wasm"
done
timed() { # OUT CMD...: the user CPU seconds of CMD, its stdout in OUT
  local out=$1
  shift
  /usr/bin/time -o "$work/time" -f %U "$@" > "$out" 2> "$work/err" ||
    fail "$* failed: $(tail -3 "$work/err")"
  tail -n 1 "$work/time"
}
run_mote() { # A|B
  local m=$a c=ca
  [ "$1" = B ] && m=$b c=cb
  MOTE_CACHE=$work/$c timed "$work/out.$1" "$m" run --tier opt --dir "$work:/d:ro" \
    "$work/lua.wasm" /d/vm.lua
}
for i in $(seq "$runs"); do
  n=$(timed "$work/out.n" "$work/lua" "$work/vm.lua")
  if [ $((i % 2)) = 1 ]; then ra=$(run_mote A); rb=$(run_mote B); else rb=$(run_mote B); ra=$(run_mote A); fi
  cmp -s "$work/out.n" "$work/out.A" && cmp -s "$work/out.A" "$work/out.B" ||
    fail "native, A and B printed different outputs"
  echo "$n $ra $rb"
done > "$work/rows"
med() { awk -v c="$1" '{print $c}' "$work/rows" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
awk -v n="$(med 1)" -v ra="$(med 2)" -v rb="$(med 3)" -v runs="$runs" \
  'BEGIN { printf "lua vm.lua: native %.2f s, A %.2f s (%.3fx), B %.2f s (%.3fx), B/A %.3f; user CPU, medians of %d\n",
           n, ra, ra / n, rb, rb / n, rb / ra, runs }'

#!/usr/bin/env bash
# One engine change, measured on a real interpreter: Lua 5.4 (the corpus's lua.wasm,
# bench/corpus.sh) running bench/corpus/vm.lua, which is all bytecode, under two mote builds
# (A, B) on the opt tier and as native Lua built by gcc -O2 from the same source, alternating
# in every round, each mote with its own cache. Checks that all three print the same; prints
# the medians of the user CPU time and the ratios. The corpus must have been fetched
# (bench/corpus.sh BUILD_DIR, or make bench-engine).
#
#   bench/lua_ab.sh MOTE_A MOTE_B [BUILD_DIR]   e.g.
#   bench/lua_ab.sh ../main/build/mote build/mote
#
# RUNS (default 9) rounds.
set -eu
[ $# -ge 2 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
a=$1 b=$2 corpus=${3:-build}/bench-corpus
runs=${RUNS:-9}
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$corpus/lua.wasm" ] && [ -d "$corpus/src/lua/src" ] ||
  { echo "lua_ab: no $corpus/lua.wasm or its source: run bench/corpus.sh first" >&2; exit 2; }
work=$(mktemp -d /tmp/mote-lua-ab-XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$corpus/src/lua/src" && gcc -O2 -DLUA_USE_C89 -DLUA_USE_POSIX \
   $(ls *.c | grep -vE '^(luac|onelua)\.c$') -lm -o "$work/lua")
cp "$here/corpus/vm.lua" "$work/"
for m in "$a:ca" "$b:cb"; do
  MOTE_CACHE=$work/${m##*:} "${m%:*}" compile --tier opt "$corpus/lua.wasm" > /dev/null ||
    { echo "lua_ab: ${m%:*} did not compile lua.wasm" >&2; exit 1; }
done
user_s() { tail -n 1 "$work/time"; }
for _ in $(seq "$runs"); do
  /usr/bin/time -o "$work/time" -f %U "$work/lua" "$work/vm.lua" > "$work/out.n"; n=$(user_s)
  MOTE_CACHE=$work/ca /usr/bin/time -o "$work/time" -f %U "$a" run --tier opt --dir "$work:/d:ro" \
    "$corpus/lua.wasm" /d/vm.lua > "$work/out.a"; ra=$(user_s)
  MOTE_CACHE=$work/cb /usr/bin/time -o "$work/time" -f %U "$b" run --tier opt --dir "$work:/d:ro" \
    "$corpus/lua.wasm" /d/vm.lua > "$work/out.b"; rb=$(user_s)
  cmp -s "$work/out.n" "$work/out.a" && cmp -s "$work/out.a" "$work/out.b" ||
    { echo "lua_ab: native, A and B printed different outputs" >&2; exit 1; }
  echo "$n $ra $rb"
done > "$work/rows"
med() { awk -v c="$1" '{print $c}' "$work/rows" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
awk -v n="$(med 1)" -v ra="$(med 2)" -v rb="$(med 3)" -v runs="$runs" \
  'BEGIN { printf "lua vm.lua: native %.2f s, A %.2f s (%.3fx), B %.2f s (%.3fx), B/A %.3f; user CPU, medians of %d\n",
           n, ra, ra / n, rb, rb / n, rb / ra, runs }'

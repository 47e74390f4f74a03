#!/usr/bin/env bash
# Lazy objects (src/compile/lazy.c) from the outside: WASI programs give the same output and
# exit status eager (MOTE_QUICK_LAZY=never) and lazy (always) on the quick tier, each from a
# cold cache; the lazy object keeps its module bytes beside it.
# usage: test_lazy_wasi.sh BUILD_DIR
set -u
build=${1:-build}
mote="$build/mote"
tmp=$(mktemp -d /tmp/mote-lazy-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0

check() { # name, condition result (0 = ok), detail
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "  FAIL $1: $3" >&2; fi
}

here=$(dirname "$0")
# source, then its arguments
progs=("tests/wasi/programs/args.c one two" "tests/wasi/programs/env.c" "tests/wasi/programs/errors.c"
       "bench/programs/kernels.c interp 1" "bench/programs/kernels.c hash 1"
       "bench/programs/mlp.c" "bench/programs/strhash.c" "bench/programs/sorted.c")
for entry in "${progs[@]}"; do
  read -r src args <<< "$entry"
  name=$(basename "$src" .c)${args:+-${args// /-}}
  if ! clang-19 --target=wasm32-wasi -O2 -I"$here/../wasi/programs" "$here/../../$src" -o "$tmp/$name.wasm" 2>"$tmp/$name.cc"; then
    check "$name builds" 1 "$(head -3 "$tmp/$name.cc")"
    continue
  fi
  for mode in never always; do
    MOTE_QUICK_LAZY=$mode MOTE_CACHE="$tmp/cache-$mode" "$mote" run --tier quick --env K=V \
      "$tmp/$name.wasm" $args > "$tmp/$name.$mode.out" 2> "$tmp/$name.$mode.err"
    echo $? > "$tmp/$name.$mode.rc"
  done
  cmp -s "$tmp/$name.never.out" "$tmp/$name.always.out" && cmp -s "$tmp/$name.never.rc" "$tmp/$name.always.rc"
  check "$name: same output and exit status eager and lazy" $? \
    "rc $(cat "$tmp/$name.never.rc") vs $(cat "$tmp/$name.always.rc"); $(diff "$tmp/$name.never.out" "$tmp/$name.always.out" | head -5)"
  [ -s "$tmp/$name.always.out" ]
  check "$name: printed something" $? "no output; stderr: $(head -3 "$tmp/$name.always.err")"
done

# The lazy cache entry has its module bytes, the eager one has none.
ls "$tmp"/cache-always/*.wasm > /dev/null 2>&1
check "a lazy object keeps its module bytes" $? "$(ls "$tmp/cache-always")"
! ls "$tmp"/cache-never/*.wasm > /dev/null 2>&1
check "an eager object keeps none" $? "$(ls "$tmp/cache-never")"

echo "tests/compile/test_lazy_wasi.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]

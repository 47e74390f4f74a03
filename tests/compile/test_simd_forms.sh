#!/usr/bin/env bash
# The prelude's SIMD helpers against a scalar reference (tests/compile/simd_forms.c), built
# four ways: gcc -march=x86-64-v2 (the builtins of SSSE3/SSE4.1 too), gcc for the x86-64
# baseline (SSE2's), gcc with the x86 macros undefined (the portable forms), and tcc (the
# lane loops of the quick tier).
# usage: test_simd_forms.sh [BUILD_DIR] (unused: the helpers are compiled here)
set -u
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d /tmp/mote-simd-forms-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
check() { # name, condition result (0 = ok), detail
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "  FAIL $1: $3" >&2; fi
}
inc=(-Isrc/compile -Isrc/rt -Isrc)
# the opt tier's code generation flags that change arithmetic (toolchain.c)
opt=(-O2 -ffp-contract=off -fsignaling-nans -w)
build() { # NAME COMPILER FLAGS...
  local name=$1 cc=$2; shift 2
  "$cc" "$@" "${inc[@]}" tests/compile/simd_forms.c -o "$tmp/$name" -lm 2>"$tmp/$name.err"
}
run() { # NAME PAIRS
  local out rc
  out=$("$tmp/$1" "$2" 2>&1); rc=$?
  check "$1: $out" $rc "$(head -5 <<<"$out")"
}
if build v2 gcc "${opt[@]}" -march=x86-64-v2; then run v2 20000
else check "gcc -march=x86-64-v2 compiles" 1 "$(head -5 "$tmp/v2.err")"; fi
if build baseline gcc "${opt[@]}"; then run baseline 20000
else check "gcc (baseline) compiles" 1 "$(head -5 "$tmp/baseline.err")"; fi
# no x86 builtin and no asm with an instruction (the empty asms of the load barriers stay)
if build portable gcc "${opt[@]}" -U__SSE2__ -U__SSSE3__ -U__SSE4_1__ &&
   ! gcc -E "${opt[@]}" -U__SSE2__ -U__SSSE3__ -U__SSE4_1__ "${inc[@]}" tests/compile/simd_forms.c |
     grep -qE '__builtin_ia32|__asm__ *\("[a-z]'; then run portable 20000
else check "gcc without the x86 macros compiles, with no x86 builtin or instruction" 1 "$(head -5 "$tmp/portable.err")"; fi
if build tcc tcc -w; then run tcc 10000
else check "tcc compiles" 1 "$(head -5 "$tmp/tcc.err")"; fi
echo "tests/compile/test_simd_forms.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]

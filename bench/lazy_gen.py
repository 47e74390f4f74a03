#!/usr/bin/env python3
"""lazy_gen.py N CALLED OUT.wat: a SYNTHETIC module for bench/lazy.sh: N functions of ~400
bytes of straight-line i32 arithmetic each (N=20000: ~8 MB of code), of which _start calls
CALLED, spread over the index space, and drops their sum. It stands for a big program whose
first answer runs a few of its functions (as CRuby's runs 7% of them); it is not a real
program."""
import sys

n, called, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(out, "w") as f:
    f.write("(module\n")
    for k in range(n):
        f.write(f"(func $f{k} (param i32) (result i32) local.get 0\n")
        for r in range(40):
            c = (k * 2654435761 + r * 40503) & 0xFFFFF
            f.write(f" i32.const {c} i32.add i32.const {c ^ 0x5555} i32.xor i32.const {r % 31 + 1} i32.rotl\n")
        f.write(")\n")
    f.write('(func (export "_start") (local i32)\n')
    step = max(1, n // called)
    for i in range(called):
        f.write(f" local.get 0 i32.const {i} call $f{i * step} i32.add local.set 0\n")
    f.write(")\n)\n")

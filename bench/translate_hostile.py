#!/usr/bin/env python3
"""Small WebAssembly modules that once cost the translator out of all
proportion (bench/translate_hostile.sh times them). Writes NAME.wasm into DIR.

  bench/translate_hostile.py DIR
"""
import os
import sys


# the binary format's pieces, shared with the fuzzers' extreme shapes
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz"))
from lazy_shapes import I32, I64, functype, section as sec, uleb as leb, vec  # noqa: E402


def name(s):
    return leb(len(s)) + s.encode()


def body(locals_, code):
    b = vec(locals_) + code
    return leb(len(b)) + b


HEAD = b"\0asm\1\0\0\0"
VOID = functype([], [])



def one_function(code, types=(VOID,), locals_=()):
    m = HEAD + sec(1, vec(list(types))) + sec(3, vec([b"\0"]))
    return m + sec(10, vec([body(list(locals_), code)]))


def modules():
    # br_if to a block of 1000 results entered above a value: each copies all
    r, k = 1000, 50000
    code = (b"\x02\x01" + b"\x41\x00" + b"\x42\x00" * r + b"\x41\x00\x0d\x00" * k +
            b"\x0c\x00\x0b\x0f\x0b")
    yield "br_if_copies", one_function(code, (VOID, functype([], [I64] * r)))
    # 200 functions of 50,000 locals in one group each
    m = HEAD + sec(1, vec([VOID])) + sec(3, vec([b"\0"] * 200))
    yield "locals", m + sec(10, vec([body([leb(50000) + bytes([I32])], b"\x0b")] * 200))
    # 5000 imports of a type of 1000 parameters
    imps = [name("m") + name("f%d" % i) + b"\x00\x00" for i in range(5000)]
    yield "wide_imports", HEAD + sec(1, vec([functype([I64] * 1000, [])])) + sec(2, vec(imps))
    # 30,000 nested blocks of 1000 results, each one value higher, and one br_table
    # to all of them: each target copies its 1000 values (one instruction)
    t, r = 30000, 1000
    code = (b"\x41\x00\x02\x01" * t + b"\x41\x00" * r + b"\x41\x00" + b"\x0e" + leb(t - 1) +
            b"".join(leb(k) for k in range(t)) + b"\x0b\x00" * t + b"\x0b")  # end; unreachable
    yield "br_table_wide", one_function(code, (VOID, functype([], [I32] * r)))
    # 50,000 values kept on the stack, then 50,000 empty blocks
    n = 50000
    yield "deep_stack", one_function(b"\x41\x00" * n + b"\x02\x40\x0b" * n + b"\x00\x0b")
    # 400,000 nested blocks, then 200,000 times a br_table of a default only and
    # the end of its block (after which the code is reachable again)
    d, t = 400000, 200000
    code = b"\x02\x40" * d + b"\x41\x00\x0e\x00\x00\x0b" * t + b"\x0b" * (d - t) + b"\x0b"
    yield "br_table_deep", one_function(code)
    # 100,000 exports of one function
    exps = [name("e%d" % i) + b"\x00\x00" for i in range(100000)]
    yield "exports", (HEAD + sec(1, vec([VOID])) + sec(3, vec([b"\0"])) + sec(7, vec(exps)) +
                      sec(10, vec([body([], b"\x0b")])))
    # 100,000 imported functions
    imps = [name("m") + name("f%d" % i) + b"\x00\x00" for i in range(100000)]
    yield "imports", HEAD + sec(1, vec([VOID])) + sec(2, vec(imps))
    # an element segment of 16M one-byte function indices
    n = 16 * 1000 * 1000
    seg = leb(1) + b"\x00" + leb(n) + b"\x00" * n
    yield "element_items", (HEAD + sec(1, vec([VOID])) + sec(3, vec([b"\0"])) + sec(9, vec([seg])) +
                            sec(10, vec([body([], b"\x0b")])))
    # 5M custom sections of 3 bytes
    yield "custom_sections", HEAD + b"\x00\x01\x00" * (5 * 1000 * 1000)


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for n, m in modules():
        with open(os.path.join(out, n + ".wasm"), "wb") as f:
            f.write(m)

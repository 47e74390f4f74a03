#!/usr/bin/env python3
"""Extreme-but-valid modules for the lazy tier's in-process libtcc
(tests/fuzz/fuzz_tcc.c, docs/architecture.md "The first answer").

usage: lazy_shapes.py SHAPE N OUT.wasm     one module
       lazy_shapes.py --seeds DIR          small ones of every shape (fuzz seeds), as
                                           modules and as bodies (fuzz_tcc's two forms)

Every module exports _start (a WASI command with no imports) whose body is
the shape, N times over; it runs to its end quickly when called.
"""
import sys

def uleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def sleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)

def vec(items):
    return uleb(len(items)) + b"".join(items)

def section(sid, payload):
    return bytes([sid]) + uleb(len(payload)) + payload

I32, I64, F32, F64, V128 = 0x7F, 0x7E, 0x7D, 0x7C, 0x7B
END = b"\x0b"

def functype(params, results):
    return b"\x60" + vec([bytes([p]) for p in params]) + vec([bytes([r]) for r in results])

def i32c(v):
    return b"\x41" + sleb(v)

def module(types, funcs, memory=False, exports_start=0):
    """types: functype bytes; funcs: (type index, locals [(count, type)], code bytes)."""
    out = b"\0asm\1\0\0\0"
    out += section(1, vec(types))
    out += section(3, vec([uleb(t) for t, _, _ in funcs]))
    if memory:
        out += section(5, vec([b"\x00\x01"]))
    exp = [uleb(6) + b"_start" + b"\x00" + uleb(exports_start)]
    if memory:
        exp.append(uleb(6) + b"memory" + b"\x02" + uleb(0))
    out += section(7, vec(exp))
    bodies = []
    for _, locs, code in funcs:
        body = vec([uleb(c) + bytes([t]) for c, t in locs]) + code + END
        bodies.append(uleb(len(body)) + body)
    out += section(10, vec(bodies))
    return out

BODY_ONLY = False  # --seeds: start_only shapes also as fuzz_tcc's body inputs

def start_only(code, locs=(), extra_types=(), extra_funcs=(), memory=False):
    if BODY_ONLY:  # fuzz_tcc's second form: a byte not 0, then a body
        return b"\x01" + vec([uleb(c) + bytes([t]) for c, t in locs]) + code + END
    types = [functype([], [])] + list(extra_types)
    return module(types, [(0, list(locs), code)] + list(extra_funcs), memory)

def shape(name, n):
    if name == "blocks":  # n nested blocks, a br out of the innermost
        return start_only(b"\x02\x40" * n + b"\x0c" + uleb(n - 1) + END * n)
    if name == "loops":  # n nested loops falling through
        return start_only(b"\x03\x40" * n + END * n)
    if name == "ifs":  # n nested ifs (all taken)
        return start_only((i32c(1) + b"\x04\x40") * n + END * n)
    if name == "ifelse":  # n ifs each with an else holding the next
        return start_only((i32c(0) + b"\x04\x40\x05") * n + END * n)
    if name == "brtable":  # a br_table of n targets
        return start_only(b"\x02\x40" + i32c(0) + b"\x0e" + uleb(n) + b"\x00" * n + b"\x00" + END)
    if name == "brtable-deep":  # a br_table over n nested blocks
        return start_only(b"\x02\x40" * n + i32c(0) + b"\x0e" + uleb(n) +
                          b"".join(uleb(i) for i in range(n)) + b"\x00" + END * n)
    if name == "locals":  # n i32 locals, each set and summed
        code = b"".join(i32c(i) + b"\x21" + uleb(i) for i in range(n))
        code += b"\x20\x00" + b"".join(b"\x20" + uleb(i) + b"\x6a" for i in range(1, n)) + b"\x1a"
        return start_only(code, [(n, I32)])
    if name == "chain":  # one expression: 1 + 1 + ... (stack depth 2)
        return start_only(i32c(1) + (i32c(1) + b"\x6a") * n + b"\x1a")
    if name == "stack":  # n constants pushed, then n-1 adds (stack depth n)
        return start_only(i32c(1) * n + b"\x6a" * (n - 1) + b"\x1a")
    if name == "select":  # a chain of n selects
        return start_only(i32c(1) + (i32c(2) + i32c(1) + b"\x1b") * n + b"\x1a")
    if name == "divs":  # trapping arithmetic chain (division checks)
        return start_only(i32c(1 << 20) + (i32c(1) + b"\x6d") * n + b"\x1a")
    if name == "floats":  # a float chain with conversions
        return start_only(b"\x43" + b"\0\0\x80\x3f" + (b"\xbb\xb6") * n + b"\x1a")
    if name == "params":  # a callee with n params and n results
        t = functype([I32] * n, [I32] * n)
        callee = (1, [], b"".join(b"\x20" + uleb(i) for i in range(n)))
        code = i32c(7) * n + b"\x10\x01" + b"\x1a" * n
        return module([functype([], []), t], [(0, [], code), callee])
    if name == "results":  # a block with n results, dropped
        t = functype([], [I32] * n)
        return module([functype([], []), t],
                      [(0, [], b"\x02\x01" + i32c(3) * n + END + b"\x1a" * n)])
    if name == "calls":  # n functions, each calling the next
        funcs = [(0, [], b"\x10" + uleb(i + 1)) for i in range(n)] + [(0, [], b"")]
        return module([functype([], [])], funcs)
    if name == "callees":  # _start calls n functions directly (one batch)
        funcs = [(0, [], b"".join(b"\x10" + uleb(i + 1) for i in range(n)))]
        funcs += [(0, [], i32c(i) + b"\x1a") for i in range(n)]
        return module([functype([], [])], funcs)
    if name == "simd":  # a v128 chain: i32x4.add n times
        v = b"\xfd\x0c" + bytes(16)
        return start_only(v + (v + b"\xfd\xae\x01") * n + b"\x1a")
    if name == "memory":  # n loads and stores
        code = (i32c(0) + i32c(0) + b"\x28\x02\x00" + b"\x36\x02\x00") * n
        return start_only(code, memory=True)
    if name == "types":  # n distinct types (a batch binds every type id), _start calls
        # functions of the first 64 of them through the table
        types = [functype([], [])] + [functype([I32] * (i % 200), [I64] * (i // 200 % 8))
                                      for i in range(1, n)]
        return module(types, [(0, [], b"")])
    if name == "unreachable-blocks":  # n nested blocks after an unreachable
        return start_only(b"\x00" + b"\x02\x40" * n + END * n)
    raise SystemExit("unknown shape " + name)

SHAPES = ["blocks", "loops", "ifs", "ifelse", "brtable", "brtable-deep", "locals", "chain",
          "stack", "select", "divs", "floats", "params", "results", "calls", "callees", "simd",
          "memory", "types", "unreachable-blocks"]

if __name__ == "__main__":
    if sys.argv[1] == "--seeds":
        import os
        for s in SHAPES:
            for n in (3, 300):
                with open(os.path.join(sys.argv[2], "shape-%s-%d.wasm" % (s, n)), "wb") as f:
                    f.write(shape(s, n))
        BODY_ONLY = True
        for s in SHAPES:
            for n in (3, 300):
                b = shape(s, n)
                if b[0] != 0:
                    with open(os.path.join(sys.argv[2], "body-%s-%d" % (s, n)), "wb") as f:
                        f.write(b)
    else:
        with open(sys.argv[3], "wb") as f:
            f.write(shape(sys.argv[1], int(sys.argv[2])))

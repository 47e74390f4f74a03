#!/usr/bin/env python3
"""Which functions a run executed (bench/coverage.sh), from a module instrumented by binaryen's
`wasm-opt --log-execution` (a call of env.log_execution(ID) at every function
entry, loop header and return; IDs unique) and the set of IDs the run logged.

usage: coverage.py INSTRUMENTED.wasm IDS WORKDIR
WORKDIR: the work directory `mote compile` kept (MOTE_KEEP_WORK=1): its c<k>.c
(or unit.c) say which chunk defines which function (w<index>).
Prints: functions executed, their code bytes, chunks touched."""
import glob, os, re, sys

def uleb(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
        if x < 0x80: return r, i

def sleb(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
        if x < 0x80: return (r - (1 << s) if x & 0x40 else r), i

def name(b, k):
    n, k = uleb(b, k)
    return b[k:k + n].decode(), k + n

def sections(b):
    i = 8
    while i < len(b):
        sid = b[i]; n, j = uleb(b, i + 1)
        yield sid, j, j + n
        i = j + n

def limits(b, k):
    fl, k = uleb(b, k); _, k = uleb(b, k)
    return uleb(b, k)[1] if fl & 1 else k

b = open(sys.argv[1], 'rb').read()
nfunc_imports = 0; log_index = None; bodies = []
for sid, j, end in sections(b):
    if sid == 2:
        cnt, k = uleb(b, j)
        for _ in range(cnt):
            mod, k = name(b, k); nm, k = name(b, k); kind = b[k]; k += 1
            if kind == 0:
                if (mod, nm) == ('env', 'log_execution'): log_index = nfunc_imports
                nfunc_imports += 1; _, k = uleb(b, k)
            elif kind == 1: k = limits(b, k + 1)
            elif kind == 2: k = limits(b, k)
            elif kind == 3: k += 2
            else: _, k = uleb(b, k); _, k = uleb(b, k)
    elif sid == 10:
        cnt, k = uleb(b, j)
        for _ in range(cnt):
            sz, k = uleb(b, k); bodies.append((k, k + sz)); k += sz
if log_index is None: sys.exit('coverage.py: no env.log_execution import (not instrumented?)')
# binaryen adds the import after the module's own, so the module's function
# w<n> (n counted over its own imports) is body n - (nfunc_imports - 1).
def uleb_bytes(v):
    out = bytearray()
    while True:
        x = v & 0x7f; v >>= 7
        out.append(x | (0x80 if v else 0))
        if not v: return bytes(out)
call = b'\x10' + uleb_bytes(log_index)
pat = re.compile(rb'\x41([\x80-\xff]{0,4}[\x00-\x7f])' + re.escape(call))
owner = {}
for q, (s, e) in enumerate(bodies):
    for m in pat.finditer(b, s, e):
        owner.setdefault(sleb(m.group(0), 1)[0], q)
ids = set(int(x) for x in open(sys.argv[2]) if x.strip())
ran = sorted(set(owner[x] for x in ids if x in owner))
if os.environ.get('COVERAGE_FUNCS_OUT'):  # the run's functions, body indices, for bench/lazy.sh
    with open(os.environ['COVERAGE_FUNCS_OUT'], 'w') as o:
        o.writelines(f'{q}\n' for q in ran)
own_imports = nfunc_imports - 1
chunk_of = {}
for f in glob.glob(os.path.join(sys.argv[3], 'c[0-9]*.c')) + glob.glob(os.path.join(sys.argv[3], 'unit.c')):
    k = os.path.basename(f)[:-2]
    for line in open(f, errors='replace'):
        m = re.match(r'XL_FUNC [^(]* w(\d+)\(inst \*I.*\{$', line)
        if m: chunk_of[int(m.group(1))] = k
sizes = [e - s for s, e in bodies]
touched = set(chunk_of.get(q + own_imports, '?') for q in ran)
nchunks = len(set(chunk_of.values()))
code = sum(sizes)
run_bytes = sum(sizes[q] for q in ran)
print(f'functions {len(ran)} of {len(bodies)} ({100 * len(ran) / len(bodies):.1f}%); '
      f'code {run_bytes} of {code} bytes ({100 * run_bytes / code:.1f}%); '
      f'chunks {len(touched)} of {nchunks}; ids {len(ids)} ({len(ids) - sum(1 for x in ids if x in owner)} unmapped)')

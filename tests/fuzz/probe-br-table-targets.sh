#!/usr/bin/env bash
# What a dispatch loop of many targets costs gcc (the br_table's computed goto, xl_func.c's
# br_table(): at most 256 targets get it). For each N: a loop whose br_table has N entries to N
# blocks, each case branching back to the loop, compiled on the opt tier from an empty cache;
# prints mote's compile line (cc time, peak memory of a compiler process) and the indirect
# jumps in the function (1: a switch; about N: the dispatch copied into the cases).
# usage: probe-br-table-targets.sh MOTE [N...]   (prints figures; not a test; N defaults to
#        64 256 257 1024 2048 4096). Run it with two builds to compare them.
set -u
mote=$1
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for n in "${@:-64 256 257 1024 2048 4096}"; do
  for k in $n; do
    python3 - "$k" > "$dir/d.wat" <<'P'
import sys
n = int(sys.argv[1])
o = ['(module (memory 1) (func (export "run") (param i32) (result i32) (local i32 i32 i32)',
     ' block $out loop $top', ' ' + 'block ' * n,
     ' local.get 1 i32.load16_u local.get 1 i32.const 2 i32.add local.set 1',
     ' br_table ' + ' '.join(str(i) for i in range(n - 1)) + ' %d' % (n - 1)]
for i in range(n - 1):
    o.append(' end local.get 2 i32.const %d i32.add i32.const %d i32.rotl local.set 2 br %d'
             % (i * 7, i % 31 + 1, n - 1 - i))
o.append(' end br $out end end local.get 2))')
print('\n'.join(o))
P
    wat2wasm "$dir/d.wat" -o "$dir/d.wasm" || exit 1
    rm -rf "$dir/cache"
    line=$(MOTE_CACHE=$dir/cache "$mote" compile --tier opt "$dir/d.wasm" 2>&1 | tail -1)
    jumps=$(objdump -d --no-show-raw-insn "$dir"/cache/*.so 2>/dev/null |
            awk '/<w0>:/,/^$/' | grep -c 'jmp  *\*')
    echo "targets $k: ${line#opt tier: }; indirect jumps $jumps"
  done
done

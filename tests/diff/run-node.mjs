// The V8 side of the differential check (see tests/diff/run.sh).
//
//   node tests/diff/run-node.mjs FILE.wasm
//
// Instantiates FILE with binaryen's fuzzing imports, then calls every exported
// function in export order with all-zero arguments, as binaryen's own
// fuzz-exec does (hangLimitInitializer first, if exported; the instance is
// kept across calls, also after a trap). Prints the canonical text that
// tests/diff/diff_runner.c prints for mote:
//
//   call NAME            before each export call
//   log T BITS           a call of fuzzing-support.log-T
//   result T BITS ...    the export's results (nothing for no results)
//   trap                 a WebAssembly trap
//   exhaustion           call stack exhausted (the driver stops comparing there)
//   v128-boundary        a v128 would cross to JS (an export with v128 in its
//                        signature is not called; a call of log-v128 throws
//                        V8's TypeError, which ends the export call)
//   instantiate trap     instantiation trapped
//   memory NAME PAGES H  after all calls, each exported memory: its size in
//                        pages and the FNV-1a hash (32-bit, hex) of its bytes
//
// BITS is the value's bit pattern in hex (i32/f32 8 digits, i64/f64 16), every
// NaN is "nan" (engines may differ in NaN payloads), references are "null" or
// "ref". Lines starting with '#' are diagnostics the driver does not compare.
// Exit status: 0 ran, 3 V8 refused the module (the driver skips it), 1 error.
import { readFileSync } from 'node:fs';

const out = [];
const emit = (line) => out.push(line);
const flush = () => process.stdout.write(out.length ? out.join('\n') + '\n' : '');

// ---- a minimal reader: function export types ---------------------------

function parseExports(bytes) {
  let p = 8;
  const u8 = () => bytes[p++];
  const leb = () => {
    let r = 0, shift = 0, b;
    do { b = bytes[p++]; r += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return r;
  };
  const letter = (t) => ({ 0x7f: 'i', 0x7e: 'j', 0x7d: 'f', 0x7c: 'd', 0x7b: 'v', 0x70: 'r', 0x6f: 'e' })[t];
  const name = () => { const n = leb(); const s = Buffer.from(bytes.subarray(p, p + n)).toString('utf8'); p += n; return s; };
  const limits = () => { const f = u8(); leb(); if (f & 1) leb(); };
  const types = [], funcs = [], exports = [];
  while (p < bytes.length) {
    const id = u8(), size = leb(), end = p + size;
    if (id === 1) {
      for (let n = leb(); n > 0; n--) {
        if (u8() !== 0x60) throw new Error('unexpected type form');
        let params = '', results = '';
        for (let k = leb(); k > 0; k--) params += letter(u8());
        for (let k = leb(); k > 0; k--) results += letter(u8());
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        name(); name();
        const kind = u8();
        if (kind === 0) funcs.push(leb());
        else if (kind === 1) { u8(); limits(); }
        else if (kind === 2) limits();
        else if (kind === 3) { u8(); u8(); }
        else throw new Error('unexpected import kind ' + kind);
      }
    } else if (id === 3) {
      for (let n = leb(); n > 0; n--) funcs.push(leb());
    } else if (id === 7) {
      for (let n = leb(); n > 0; n--) {
        const nm = name(), kind = u8(), index = leb();
        if (kind === 0) exports.push({ name: nm, type: types[funcs[index]] });
      }
    }
    p = end;
  }
  return exports;
}

// ---- canonical values ----------------------------------------------------

const f32 = new Float32Array(1), f32u = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1), f64u = new BigUint64Array(f64.buffer);
const hex = (v, digits) => v.toString(16).padStart(digits, '0');

function show(t, v) {
  switch (t) {
    case 'i': return 'i32 ' + hex(v >>> 0, 8);
    case 'j': return 'i64 ' + hex(BigInt.asUintN(64, v), 16);
    case 'f': if (Number.isNaN(v)) return 'f32 nan'; f32[0] = v; return 'f32 ' + hex(f32u[0], 8);
    case 'd': if (Number.isNaN(v)) return 'f64 nan'; f64[0] = v; return 'f64 ' + hex(f64u[0], 16);
    case 'r': return 'funcref ' + (v === null ? 'null' : 'ref');
    case 'e': return 'externref ' + (v === null ? 'null' : 'ref');
  }
  throw new Error('unknown type ' + t);
}

const zero = (t) => (t === 'j' ? 0n : t === 'r' || t === 'e' ? null : 0);

// Returns 'trap', 'exhaustion' or null (not a wasm outcome: rethrow).
function classify(e) {
  if (e instanceof WebAssembly.RuntimeError) return 'trap';
  if (e instanceof RangeError && /call stack/i.test(e.message)) return 'exhaustion';
  return null;
}

// ---- main ----------------------------------------------------------------

const file = process.argv[2];
if (!file) { process.stderr.write('usage: run-node.mjs FILE.wasm\n'); process.exit(2); }
const bytes = new Uint8Array(readFileSync(file));

let module;
try {
  module = new WebAssembly.Module(bytes);
} catch (e) {
  process.stderr.write('node: compile: ' + e.message + '\n');
  process.exit(3);
}

const log = (t) => (v) => { emit('log ' + show(t, v)); };
const imports = {
  'fuzzing-support': {
    'log-i32': log('i'), 'log-i64': log('j'), 'log-f32': log('f'), 'log-f64': log('d'),
    // never runs: V8 throws a TypeError when wasm passes it a v128
    'log-v128': () => { throw new Error('log-v128 ran'); },
  },
};

let instance;
try {
  instance = new WebAssembly.Instance(module, imports);
} catch (e) {
  const kind = classify(e);
  if (kind === null) {
    if (e instanceof WebAssembly.LinkError) { process.stderr.write('node: link: ' + e.message + '\n'); process.exit(3); }
    throw e;
  }
  emit('instantiate ' + kind);
  emit('# ' + e.message);
  flush();
  process.exit(0);
}

const ex = instance.exports;
for (const { name, type } of parseExports(bytes)) {
  emit('call ' + name);
  if ((type.params + type.results).includes('v')) { emit('v128-boundary'); continue; }
  try {
    if (typeof ex.hangLimitInitializer === 'function') ex.hangLimitInitializer();
    const r = ex[name](...[...type.params].map(zero));
    if (type.results.length === 1) {
      emit('result ' + show(type.results, r));
    } else if (type.results.length > 1) {
      emit('result ' + [...type.results].map((t, k) => show(t, r[k])).join(' '));
    }
  } catch (e) {
    if (e instanceof TypeError && /type incompatibility/.test(e.message)) { emit('v128-boundary'); continue; }
    const kind = classify(e);
    if (kind === null) throw e;
    emit(kind);
    emit('# ' + e.message);
  }
}
for (const d of WebAssembly.Module.exports(module)) {
  if (d.kind !== 'memory') continue;
  const mem = new Uint8Array(ex[d.name].buffer);
  let h = 0x811c9dc5;
  for (let k = 0; k < mem.length; k++) h = Math.imul(h ^ mem[k], 0x01000193);
  emit('memory ' + d.name + ' ' + mem.length / 65536 + ' ' + hex(h >>> 0, 8));
}
flush();

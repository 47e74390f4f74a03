// CRuby's ruby.wasm (npm @ruby/3.3-wasm-wasi) is a reactor for a JS host: it
// imports rb-js-abi-host and canonical_abi functions and exports a component-
// style API. This is the smallest host that runs a Ruby script in it under
// node:wasi, for bench/coverage.sh (mote cannot run it: it provides WASI only).
//
//   node bench/ruby-host.mjs RUBY.wasm 'SCRIPT'
//
// ruby-init, then rb-eval-string-protect(SCRIPT). The JS-ABI imports throw
// (the script must not use JS); resource_new/resource_get hand out handles.
// A module instrumented with `wasm-opt --log-execution` also gets
// env.log_execution, and the IDs it logged are written to $LOG_OUT at exit.
import { readFileSync, writeFileSync } from 'node:fs';
process.removeAllListeners('warning');
const { WASI } = await import('node:wasi');

const [file, script] = process.argv.slice(2);
const module = new WebAssembly.Module(readFileSync(file));
const wasi = new WASI({ version: 'preview1', args: ['ruby'], env: {}, preopens: {} });
const seen = new Set();
const imports = { wasi_snapshot_preview1: wasi.wasiImport, env: { log_execution: (id) => { seen.add(id); } } };
let handles = 0;
for (const i of WebAssembly.Module.imports(module)) {
  if (i.module === 'wasi_snapshot_preview1' || i.module === 'env') continue;
  imports[i.module] ??= {};
  imports[i.module][i.name] = i.name.startsWith('resource_new') ? () => ++handles
    : i.name.startsWith('resource_get') ? (h) => h
    : () => { throw new Error(`ruby-host: ${i.module}.${i.name} is not provided`); };
}
process.on('exit', () => { if (process.env.LOG_OUT) writeFileSync(process.env.LOG_OUT, [...seen].join('\n') + '\n'); });
const instance = new WebAssembly.Instance(module, imports);
const ex = instance.exports;
wasi.initialize(instance);
const view = () => new DataView(ex.memory.buffer);
// a NUL-terminated copy in guest memory (ruby reads the arguments as C strings)
const string = (s) => {
  const b = Buffer.from(s);
  const p = ex.cabi_realloc(0, 0, 1, b.length + 1);
  new Uint8Array(ex.memory.buffer, p, b.length + 1).set([...b, 0]);
  return [p, b.length];
};
const args = ['ruby', '-e_=0'].map(string);
const list = ex.cabi_realloc(0, 0, 4, 8 * args.length);
args.forEach(([p, l], k) => { view().setUint32(list + 8 * k, p, true); view().setUint32(list + 8 * k + 4, l, true); });
ex['ruby-init: func(args: list<string>) -> ()'](list, args.length);
const [sp, sl] = string(script);
const ret = ex['rb-eval-string-protect: func(str: string) -> tuple<handle<rb-abi-value>, s32>'](sp, sl);
const state = view().getInt32(ret + 4, true);
if (state !== 0) { process.stderr.write(`ruby-host: the script raised (state ${state})\n`); process.exitCode = 1; }

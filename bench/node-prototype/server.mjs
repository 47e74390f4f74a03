// The paper's prototype reproduced (Hall and Ramachandran, IoTDI '19, section 3.3): a Node.js
// server whose Invoker creates, for every call, a fresh `vm` context and instantiates the
// function's WebAssembly module in it with node:wasi, then answers the module's stdout.
//
//   node bench/node-prototype/server.mjs PORT FUNCTIONS_DIR NAME...
//
// Serves `/faas/NAME?arg=A&arg=B` (GET or POST; the body is stdin, the args argv) for each
// NAME, whose module is FUNCTIONS_DIR/NAME.wasm and whose files directory FUNCTIONS_DIR/NAME/
// is preopened as "/". A module exporting mote_init gets mote_init and then _start in the same
// instance, every call (the prototype has no snapshots). Modules are compiled once at start
// (WebAssembly.Module), which favours this baseline: the paper's loader read them per call.
// Answers 200 with stdout, 502 with stderr when the module exits non-zero or traps. Headers:
// X-Exec-Us (context + instantiate + run), like the prototype's own timing per response.
import http from 'node:http';
import vm from 'node:vm';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.removeAllListeners('warning');
const { WASI } = await import('node:wasi');

const [port, dir, ...names] = process.argv.slice(2);
if (!port || !dir || names.length === 0) {
  process.stderr.write('usage: server.mjs PORT FUNCTIONS_DIR NAME...\n');
  process.exit(64);
}
const modules = new Map();
for (const name of names)
  modules.set(name, new WebAssembly.Module(readFileSync(join(dir, `${name}.wasm`))));

// stdio of a call goes through files: node:wasi takes file descriptors only.
const scratch = mkdtempSync(join(process.env.SCRATCH || tmpdir(), 'node-prototype-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));

// The loader that runs inside each fresh context: the context gets only what it is handed.
// The Instance constructor (and the WASI object) come from this, the main, realm: Node 20
// segfaults within a few hundred calls when the instances are made by each short-lived
// context's own WebAssembly.Instance (seen here under wrk, even at one connection).
const loader = new vm.Script(`
  const instance = new Instance(module, wasi.getImportObject());
  const exports = instance.exports;
  const init = typeof exports.mote_init === 'function' ? exports.mote_init : () => {};
  // wasi.start wants the exports' memory and _start; mote_init runs inside that start.
  status = wasi.start({ exports: { memory: exports.memory,
                                   _start: () => { init(); exports._start(); } } }) ?? 0;
`);

let serial = 0;
function invoke(name, args, body) {
  const id = serial++;
  const inPath = join(scratch, `${id}.in`), outPath = join(scratch, `${id}.out`),
        errPath = join(scratch, `${id}.err`);
  writeFileSync(inPath, body);
  const stdin = openSync(inPath, 'r'), stdout = openSync(outPath, 'w'), stderr = openSync(errPath, 'w');
  const start = process.hrtime.bigint();
  const wasi = new WASI({ version: 'preview1', args: [name, ...args], env: {}, preopens: { '/': join(dir, name) },
                          stdin, stdout, stderr, returnOnExit: true });
  const context = vm.createContext({ wasi, Instance: WebAssembly.Instance, module: modules.get(name), status: 71 });
  let trapped = null;
  try {
    loader.runInContext(context, { timeout: 60000 });
  } catch (e) {
    trapped = String(e && e.message || e);
  }
  const execUs = Number((process.hrtime.bigint() - start) / 1000n);
  for (const fd of [stdin, stdout, stderr]) closeSync(fd);
  const out = readFileSync(outPath), err = readFileSync(errPath);
  for (const p of [inPath, outPath, errPath]) rmSync(p);
  const status = trapped ? 68 : context.status;
  return { status, out: status === 0 ? out : Buffer.concat([err, Buffer.from(trapped || '')]), execUs };
}

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const name = url.pathname.startsWith('/faas/') ? url.pathname.slice(6) : null;
  if (url.pathname === '/healthz') return res.end('{"status":"ok"}');
  if (!modules.has(name)) {
    res.writeHead(404);
    return res.end(`no function at ${url.pathname}\n`);
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const r = invoke(name, url.searchParams.getAll('arg'), Buffer.concat(chunks));
    res.writeHead(r.status === 0 ? 200 : 502, { 'X-Exec-Us': r.execUs, 'Content-Length': r.out.length });
    res.end(r.out);
  });
}).listen(Number(port), '127.0.0.1');

// Runs one of functions/ under Node's node:wasi, the way the platform runs it and the way the
// paper's prototype (and the later benchmark's Node baseline) does:
//
//   node tests/functions/run-node.mjs [--snapshot] FILES_DIR FILE.wasm [ARGS...]
//
// FILES_DIR is preopened as "/" (the function's own files; node:wasi cannot make it read-only).
// When the module exports mote_init, it is called first and then _start, on the same instance.
//
// --snapshot imitates mote's initializer snapshot instead: mote_init runs in a first instance
// (with FILES_DIR), its memory is copied into a second, fresh instance, and _start runs there
// with an EMPTY directory as "/". A function whose main still needed its files after mote_init
// fails, so this checks that the initializer's state is all a call needs.
//
// stdin, stdout and stderr are the process's own. Exit status: the module's; 68 if it trapped,
// 71 for an error of this script (the statuses of tests/wasi/run-node.mjs and `mote run`).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// node:wasi warns that it is experimental on stderr, which the tests compare.
process.removeAllListeners('warning');
const { WASI } = await import('node:wasi');

let argv = process.argv.slice(2);
const snapshot = argv[0] === '--snapshot';
if (snapshot) argv = argv.slice(1);
const [dir, file, ...args] = argv;
if (!dir || !file) {
  process.stderr.write('usage: run-node.mjs [--snapshot] FILES_DIR FILE.wasm [ARGS...]\n');
  process.exit(64);
}

function newWasi(root) {
  return new WASI({ version: 'preview1', args: [file, ...args], env: {},
                    preopens: { '/': root }, returnOnExit: true });
}

// wasi.start sets up the module's memory for the host calls and then calls _start, so a
// mote_init called before it would find no memory. start therefore gets a view of the exports
// whose _start runs `before` first, inside the same WASI context.
function startWith(wasi, exports, before) {
  const entry = () => { before(); exports._start(); };
  return wasi.start({ exports: { memory: exports.memory, _start: entry } }) ?? 0;
}

const module = await WebAssembly.compile(readFileSync(file));
const emptyDir = snapshot ? mkdtempSync(join(tmpdir(), 'mote-fn-')) : null;
try {
  const wasi = newWasi(dir);
  const first = (await WebAssembly.instantiate(module, wasi.getImportObject())).exports;
  const hasInit = typeof first.mote_init === 'function';
  if (!snapshot) {
    process.exitCode = startWith(wasi, first, hasInit ? first.mote_init : () => {});
  } else {
    if (!hasInit) throw new Error(`${file} exports no mote_init`);
    // node:wasi allows one start per WASI object: the initializer runs under a start whose
    // _start is only mote_init.
    startWith(wasi, { memory: first.memory, _start: () => {} }, first.mote_init);
    const callWasi = newWasi(emptyDir);
    const call = (await WebAssembly.instantiate(module, callWasi.getImportObject())).exports;
    const grow = first.memory.buffer.byteLength - call.memory.buffer.byteLength;
    if (grow > 0) call.memory.grow(grow / 65536);
    new Uint8Array(call.memory.buffer).set(new Uint8Array(first.memory.buffer));
    process.exitCode = startWith(callWasi, call, () => {});
  }
} catch (e) {
  if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
    process.stderr.write(`node: trap: ${e.message}\n`);
    process.exitCode = 68;
  } else {
    process.stderr.write(`node: ${e.stack || e}\n`);
    process.exitCode = 71;
  }
} finally {
  if (emptyDir) rmSync(emptyDir, { recursive: true });
}

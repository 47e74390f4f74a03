// Runs a WASI command instrumented with `wasm-opt --log-execution` under
// node:wasi and writes the IDs it logged (one a line) to $LOG_OUT; for
// bench/coverage.sh.
//
//   LOG_OUT=FILE node bench/coverage-run.mjs [--dir HOST:GUEST]... FILE.wasm [ARGS...]
import { readFileSync, writeFileSync } from 'node:fs';
process.removeAllListeners('warning');
const { WASI } = await import('node:wasi');

const argv = process.argv.slice(2), preopens = {};
while (argv[0] === '--dir') {
  const [host, guest] = argv[1].split(':');
  preopens[guest ?? host] = host;
  argv.splice(0, 2);
}
const [file, ...args] = argv;
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, preopens, returnOnExit: true });
const seen = new Set();
const imports = { ...wasi.getImportObject(), env: { log_execution: (id) => { seen.add(id); } } };
const instance = await WebAssembly.instantiate(await WebAssembly.compile(readFileSync(file)), imports);
const status = wasi.start(instance) ?? 0;
writeFileSync(process.env.LOG_OUT, [...seen].join('\n') + '\n');
process.exitCode = status;

// The reference side of the WASI conformance check (tests/wasi/conformance.sh):
// runs a WASI preview1 command module under Node's node:wasi with the command
// line of `mote run`:
//
//   node tests/wasi/run-node.mjs [--dir HOST_DIR[:GUEST_DIR][:ro|rw]]... [--memory MIB]
//                                [--timeout MS] [--env K=V]... FILE.wasm [ARGS...]
//
// stdin, stdout and stderr are the process's own (WASI fds 0, 1, 2). argv[0]
// of the module is FILE.wasm as given; the environment is exactly the --env
// pairs. Each --dir is a preopen named GUEST_DIR (HOST_DIR when absent).
//
// What Node cannot do the same way, and what this script does instead:
//   :ro     node:wasi has no read-only preopens: the directory is writable.
//           Tests of read-only directories do not compare against Node.
//   --memory  the module's own maximum applies; the flag is accepted, ignored.
//   --timeout the module runs in a worker thread that is terminated at the
//           deadline: one line "node: timeout" on stderr, status 69.
//
// Exit status: the module's (proc_exit, or 0 when _start returns). A trap
// prints "node: trap: MESSAGE" on stderr and exits 68, and a deadline exits
// 69: the statuses `mote run` documents for the same events, so the driver
// compares exit statuses directly. 64 for a bad command line, 65 when V8
// refuses the module, 71 for an error of this script.
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

// node:wasi warns that it is experimental on stderr, which the driver compares.
process.removeAllListeners('warning');
const { WASI } = await import('node:wasi');

const EXIT_USAGE = 64, EXIT_TRAP = 68, EXIT_TIMEOUT = 69;

function usage(msg) {
  process.stderr.write(`run-node: ${msg}\nusage: run-node.mjs [--dir HOST[:GUEST][:ro|rw]]... ` +
    '[--memory MIB] [--timeout MS] [--env K=V]... FILE.wasm [ARGS...]\n');
  process.exit(EXIT_USAGE);
}

function parse(argv) {
  const opts = { preopens: {}, env: {}, timeout: 0, file: null, args: [] };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const a = argv[i];
    if (a === '--') { i++; break; }
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    const v = argv[++i];
    if (a === '--dir') {
      const parts = v.split(':');
      if (parts.length > 1 && (parts[parts.length - 1] === 'ro' || parts[parts.length - 1] === 'rw'))
        parts.pop(); // no read-only preopens in node:wasi (see above)
      if (parts.length > 2 || !parts[0]) usage(`bad --dir ${v}`);
      opts.preopens[parts[1] ?? parts[0]] = parts[0];
    } else if (a === '--env') {
      const eq = v.indexOf('=');
      if (eq <= 0) usage(`bad --env ${v}`);
      opts.env[v.slice(0, eq)] = v.slice(eq + 1);
    } else if (a === '--timeout') {
      opts.timeout = Number(v);
      if (!(opts.timeout > 0)) usage(`bad --timeout ${v}`);
    } else if (a === '--memory') {
      // accepted for the same command line; not enforced (see above)
    } else {
      usage(`unknown option ${a}`);
    }
  }
  if (i >= argv.length) usage('no FILE.wasm');
  opts.file = argv[i];
  opts.args = argv.slice(i + 1);
  return opts;
}

// Runs the module; returns its exit status.
async function runModule(opts) {
  const wasi = new WASI({
    version: 'preview1',
    args: [opts.file, ...opts.args],
    env: opts.env,
    preopens: opts.preopens,
    returnOnExit: true,
  });
  let module;
  try {
    module = await WebAssembly.compile(readFileSync(opts.file));
  } catch (e) {
    process.stderr.write(`node: ${opts.file}: ${e.message}\n`);
    return 65;
  }
  try {
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
    return wasi.start(instance) ?? 0;
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
      process.stderr.write(`node: trap: ${e.message}\n`);
      return EXIT_TRAP;
    }
    process.stderr.write(`node: ${e.stack || e}\n`);
    return 71;
  }
}

if (isMainThread) {
  const opts = parse(process.argv.slice(2));
  if (!opts.timeout) {
    process.exitCode = await runModule(opts);
  } else {
    const w = new Worker(new URL(import.meta.url), { workerData: opts, stdin: false });
    const timer = setTimeout(() => {
      process.stderr.write('node: timeout\n');
      w.terminate().then(() => process.exit(EXIT_TIMEOUT));
    }, opts.timeout);
    w.on('message', (code) => { clearTimeout(timer); process.exit(code); });
    w.on('error', (e) => { clearTimeout(timer); process.stderr.write(`node: ${e.stack || e}\n`); process.exit(71); });
  }
} else {
  parentPort.postMessage(await runModule(workerData));
}

// The container platform of the benchmarks, driven the way OpenWhisk's invoker drives Docker:
// one container per concurrent call, containers kept warm after a call and reused by later
// calls, a new one cold-started with `docker run` (OpenWhisk's DockerClient also shells out to
// the docker CLI) when none is free. Inside each container the action proxy
// (bench/paper/action_proxy.c) runs the function's static native program per call.
//
//   node bench/paper/container-platform.mjs PORT DOCKER_HOST IMAGE NAME...
//
// Serves `/faas/NAME?arg=...` (GET or POST, body = stdin) for each NAME; the image holds
// /fn/NAME (the program) and /fn/NAME.files/ (its files directory, the program's cwd).
// Containers use the host's network (no bridge, no iptables on this machine), each its own
// port on 127.0.0.1. Answers carry X-Cold-Start (1 when this call waited for a new
// container), X-Init-Us (the cold start: docker run until the proxy answers), X-Wait-Us (from
// arrival until the call is sent to its container) and X-Exec-Us (the proxy's child process).
//   GET /stats       {"cold_starts": N, "calls": N, "containers": {NAME: N}, "ids": [...]}
//   POST /reset      removes every container (the next calls are cold again)
// OpenWhisk also pauses idle containers and removes them after minutes; within one benchmark
// pattern neither happens, so neither is imitated.
import http from 'node:http';
import net from 'node:net';
import { execFile } from 'node:child_process';

const [port, dockerHost, image, ...names] = process.argv.slice(2);
if (!port || !dockerHost || !image || names.length === 0) {
  process.stderr.write('usage: container-platform.mjs PORT DOCKER_HOST IMAGE NAME...\n');
  process.exit(64);
}
const DOCKER = process.env.DOCKER || '/usr/bin/docker';
const pools = new Map(names.map((n) => [n, []]));   // NAME -> [{ id, port, busy }]
const stats = { cold_starts: 0, calls: 0 };
let generation = 0;

function docker(args) {
  return new Promise((resolve, reject) => {
    execFile(DOCKER, ['-H', dockerHost, ...args], { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`docker ${args[0]}: ${stderr || err.message}`)) : resolve(stdout.trim()));
  });
}

// A free port for a new container: bound by us, released, then handed to the proxy.
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    }).on('error', reject);
  });
}

function request(portNumber, path, method, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: portNumber, path, method, agent: false,
                               headers: { 'Content-Length': body.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                                     body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function coldStart(name) {
  const p = await freePort();
  const id = await docker(['run', '-d', '--network', 'host', '--label', 'mote-bench=1', image,
                           '/proxy', String(p), `/fn/${name}`, `/fn/${name}.files`]);
  for (let i = 0; i < 2000; i++) {
    try {
      if ((await request(p, '/ready', 'GET', Buffer.alloc(0))).status === 200)
        return { id, port: p, busy: true };
    } catch { /* not listening yet */ }
    await sleep(2);
  }
  throw new Error(`container ${id} for ${name} never answered on port ${p}`);
}

async function call(name, query, body) {
  const arrived = process.hrtime.bigint();
  const pool = pools.get(name);
  let container = pool.find((c) => !c.busy);
  let cold = false, initUs = 0;
  if (container) {
    container.busy = true;
  } else {
    cold = true;
    stats.cold_starts++;
    const gen = generation;
    const started = process.hrtime.bigint();
    container = await coldStart(name);
    initUs = Number((process.hrtime.bigint() - started) / 1000n);
    if (gen === generation) pool.push(container);
  }
  const waitUs = Number((process.hrtime.bigint() - arrived) / 1000n) - initUs;
  try {
    return { ...(await request(container.port, `/run${query}`, 'POST', body)), cold, initUs, waitUs };
  } finally {
    container.busy = false;
  }
}

async function reset() {
  generation++;
  const ids = [...pools.values()].flat().map((c) => c.id);
  for (const n of names) pools.set(n, []);
  if (ids.length) await docker(['rm', '-f', ...ids]);
  return ids.length;
}

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      if (url.pathname === '/stats') {
        const containers = Object.fromEntries([...pools].map(([n, p]) => [n, p.length]));
        const ids = [...pools.values()].flat().map((c) => c.id);
        return res.end(JSON.stringify({ ...stats, containers, ids }));
      }
      if (url.pathname === '/reset' && req.method === 'POST')
        return res.end(JSON.stringify({ removed: await reset() }));
      const name = url.pathname.startsWith('/faas/') ? url.pathname.slice(6) : null;
      if (!pools.has(name)) {
        res.writeHead(404);
        return res.end(`no function at ${url.pathname}\n`);
      }
      stats.calls++;
      const r = await call(name, url.search, Buffer.concat(chunks));
      res.writeHead(r.status, { 'X-Cold-Start': r.cold ? 1 : 0, 'X-Init-Us': r.initUs,
                                'X-Wait-Us': r.waitUs, 'X-Exec-Us': r.headers['x-exec-us'] || 0,
                                'Content-Length': r.body.length });
      res.end(r.body);
    } catch (e) {
      res.writeHead(500);
      res.end(`container platform: ${e.message}\n`);
    }
  });
}).listen(Number(port), '127.0.0.1');

for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => reset().finally(() => process.exit(0)));

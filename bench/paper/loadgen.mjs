// The client of the paper's access patterns (section 4; JMeter in the paper, which does not run
// here): latency measured at the client, one line per call.
//
//   node bench/paper/loadgen.mjs URL BODY_FILE PATTERN SEQ_CALLS CLIENTS RAMP_S > calls.csv
//
// URL is the function's full URL (with ?arg=...); BODY_FILE is sent as a POST body ("-" for a
// GET without one). PATTERN:
//   scma   Single Client, Multiple Access: one client, SEQ_CALLS calls one after another
//   mcsa   Multiple Client, Single Access: CLIENTS clients, one call each, started evenly
//          over RAMP_S seconds (JMeter's ramp-up)
//   mcma   Multiple Client, Multiple Access: one client making SEQ_CALLS calls in sequence,
//          and CLIENTS clients making one call each over RAMP_S seconds, at the same time
// Each client keeps its own connection (keep-alive), as a JMeter thread does. Output (CSV with a
// header): start_ms (from the pattern's start), latency_us, status, client, cold (X-Cold-Start),
// wait_us, init_us, exec_us (mote's X-Mote-*-Us or the baselines' X-*-Us headers).
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [url, bodyFile, pattern, seqArg, clientsArg, rampArg] = process.argv.slice(2);
const seqCalls = Number(seqArg), clients = Number(clientsArg), rampMs = Number(rampArg) * 1000;
if (!url || !bodyFile || !['scma', 'mcsa', 'mcma'].includes(pattern) || !(seqCalls >= 0)) {
  process.stderr.write('usage: loadgen.mjs URL BODY_FILE scma|mcsa|mcma SEQ_CALLS CLIENTS RAMP_S\n');
  process.exit(64);
}
const body = bodyFile === '-' ? null : readFileSync(bodyFile);
const target = new URL(url);
const t0 = process.hrtime.bigint();
const sinceStartMs = () => Number(process.hrtime.bigint() - t0) / 1e6;
const rows = [];

function header(h, ...names) {
  for (const n of names) if (h[n] !== undefined) return Number(h[n]);
  return '';
}

function once(agent, client) {
  return new Promise((resolve) => {
    const startMs = sinceStartMs();
    const start = process.hrtime.bigint();
    const req = http.request({ host: target.hostname, port: target.port,
                               path: target.pathname + target.search, agent,
                               method: body ? 'POST' : 'GET',
                               headers: body ? { 'Content-Length': body.length } : {} }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        const latencyUs = Number((process.hrtime.bigint() - start) / 1000n);
        const h = res.headers;
        rows.push([startMs.toFixed(1), latencyUs, res.statusCode, client,
                   header(h, 'x-cold-start'), header(h, 'x-mote-wait-us', 'x-wait-us'),
                   header(h, 'x-mote-init-us', 'x-init-us'), header(h, 'x-mote-exec-us', 'x-exec-us')]);
        resolve();
      });
    });
    req.on('error', (e) => {
      rows.push([startMs.toFixed(1), Number((process.hrtime.bigint() - start) / 1000n), 0, client,
                 '', '', '', '']);
      process.stderr.write(`loadgen: ${e.message}\n`);
      resolve();
    });
    if (body) req.end(body); else req.end();
  });
}

async function sequential(client, calls) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < calls; i++) await once(agent, client);
  agent.destroy();
}

async function ramp(firstClient, count) {
  const all = [];
  for (let i = 0; i < count; i++) {
    const delay = count > 1 ? (rampMs * i) / count : 0;
    all.push(new Promise((r) => setTimeout(r, delay)).then(() => sequential(firstClient + i, 1)));
  }
  await Promise.all(all);
}

if (pattern === 'scma') await sequential(0, seqCalls);
else if (pattern === 'mcsa') await ramp(0, clients);
else await Promise.all([sequential(0, seqCalls), ramp(1, clients)]);

rows.sort((a, b) => a[0] - b[0]);
process.stdout.write('start_ms,latency_us,status,client,cold,wait_us,init_us,exec_us\n');
for (const r of rows) process.stdout.write(r.join(',') + '\n');

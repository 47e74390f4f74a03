// Turns one run of bench/paper.sh into bench/out/report.md and the plots' data files.
//
//   node bench/paper/report.mjs DATA_DIR REPORT.md
//
// DATA_DIR holds what the run wrote: machine.json, exec-*.txt (native timings, us per line),
// PATTERN-FUNCTION-PLATFORM.csv (bench/paper/loadgen.mjs), throughput.txt, memory.json,
// containers*.json. Every figure of the report comes from these files; nothing is carried over.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dataDir, reportPath] = process.argv.slice(2);
const json = (f) => JSON.parse(readFileSync(join(dataDir, f), 'utf8'));
const machine = json('machine.json');
const memory = json('memory.json');
const containerInfo = json('containers.json');
const containerStats = json('containers-stats.json');
const functions = ['lpr', 'resize', 'recognize'];
const platforms = ['containers', 'node', 'mote'];
const patterns = [
  ['scma', 'Table 3 analog: Single Client, Multiple Access',
   `1 client, ${machine.seq_calls} sequential calls`],
  ['mcsa', 'Table 4 analog: Multiple Client, Single Access',
   `${machine.clients} clients, one call each, ${machine.ramp} s ramp-up`],
  ['mcma', 'Table 5 analog: Multiple Client, Multiple Access',
   `1 client x ${machine.mix_seq} calls + ${machine.mix_clients} clients x 1 call, ${machine.mix_ramp} s ramp-up`],
];

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const pct = (xs, p) => { const s = sorted(xs); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const median = (xs) => pct(xs, 50);
const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ms = (us) => (us / 1000 >= 100 ? (us / 1000).toFixed(0) : (us / 1000).toFixed(us >= 10000 ? 1 : 2));
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}x` : 'n/a');
const lines = (f) => readFileSync(join(dataDir, f), 'utf8').trim().split('\n').filter(Boolean);
const numbers = (f) => lines(f).map((l) => Number(l.split(' ')[0]));

function calls(pattern, fn, platform) {
  const file = `${pattern}-${fn}-${platform}.csv`;
  if (!existsSync(join(dataDir, file))) return null;
  const [head, ...rest] = lines(file);
  const keys = head.split(',');
  return rest.map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i], v === '' ? null : Number(v)])));
}

const out = [];
const say = (s = '') => out.push(s);
const goals = [];

say('# The paper\'s evaluation, reproduced (bench/paper.sh)');
say();
say(`Run mode **${machine.mode}**. Machine: ${machine.cores} cores (${machine.cpu}), ${machine.mem_gib} GiB; ` +
    `load average ${machine.load_start} at the start, ${memory.load_end} at the end. ` +
    `The client, the four platforms and Docker share these cores. Docker ${containerInfo.docker}, ` +
    `image ${containerInfo.image_kib} KiB (static programs, imported FROM nothing). ` +
    `Latencies in ms, measured at the client (bench/paper/loadgen.mjs).`);
say();

// ---- Table 2 ----
say('## Table 2 analog: execution time per call');
say();
say('Median (p10-p90) in ms. *native in-program*: the function\'s main called in a loop in one process ' +
    '(the floor); *native process*: fork+exec of `<fn>.native` to its exit (an empty `/bin/true` ' +
    `takes ${ms(median(numbers('exec-true-process.txt')))} ms on this machine); *container exec*: the ` +
    'action proxy\'s child process in the container; *mote exec*: the server\'s `X-Mote-Exec-Us` ' +
    '(the call\'s `_start` from the snapshot); *Node*: a fresh vm context + instantiate + run. ' +
    `Samples: ${machine.loop_runs} native runs; the server-reported ones are the Single Client pattern's calls. ` +
    'The two sides are measured minutes apart, not alternated, so the ratios move with the load; ' +
    '`make bench-functions` (bench/out/functions.txt) is the alternating, like-for-like measure.');
say();
say('| function | native in-program | native process | container exec | mote exec | Node | mote / native | Node / native |');
say('| --- | --- | --- | --- | --- | --- | --- | --- |');
const spread = (xs) => (xs.length ? `${ms(median(xs))} (${ms(pct(xs, 10))}-${ms(pct(xs, 90))})` : 'n/a');
for (const fn of functions) {
  const loop = numbers(`exec-${fn}-native-loop.txt`);
  const proc = numbers(`exec-${fn}-native-process.txt`);
  const exec = (p) => (calls('scma', fn, p) || []).filter((c) => c.status === 200 && c.exec_us !== null).map((c) => c.exec_us);
  const [ce, me, ne] = [exec('containers'), exec('mote'), exec('node')];
  const r = me.length ? median(me) / median(loop) : NaN;
  if (me.length) goals.push([`mote exec within 1.25x native (${fn})`, `${r.toFixed(2)}x`, r <= 1.25]);
  say(`| ${fn} | ${spread(loop)} | ${spread(proc)} | ${spread(ce)} | ${spread(me)} | ${spread(ne)} | ` +
      `${me.length ? ratio(median(me), median(loop)) : 'n/a'} | ${ne.length ? ratio(median(ne), median(loop)) : 'n/a'} |`);
}
say();

// ---- Tables 3 to 5 ----
const summary = (cs) => {
  const ok = cs.filter((c) => c.status === 200).map((c) => c.latency_us);
  return ok.length ? { n: cs.length, errors: cs.length - ok.length, avg: avg(ok), min: Math.min(...ok), max: Math.max(...ok),
                       p50: median(ok), p99: pct(ok, 99) } : { n: cs.length, errors: cs.length };
};
const cell = (s) => (s && s.avg !== undefined ? `${ms(s.avg)} / ${ms(s.min)} / ${ms(s.max)} / ${ms(s.p50)} / ${ms(s.p99)}` : 'n/a');
for (const [pattern, title, shape] of patterns) {
  say(`## ${title}`);
  say();
  say(`${shape}. Avg / Min / Max / p50 / p99 (ms) of the successful calls; the containers start with ` +
      'no warm container, as in the paper.');
  say();
  say('| function | containers | cold starts | Node prototype | mote | errors c/n/m | mote/containers avg | mote/Node avg | mote avg / native process |');
  say('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const fn of functions) {
    const c = calls(pattern, fn, 'containers') || [], n = calls(pattern, fn, 'node') || [], m = calls(pattern, fn, 'mote');
    const [sc, sn, sm] = [summary(c), summary(n), m ? summary(m) : null];
    const cold = c.filter((x) => x.cold === 1).length;
    const native = median(numbers(`exec-${fn}-native-process.txt`));
    say(`| ${fn} | ${cell(sc)} | ${cold} of ${c.length} | ${cell(sn)} | ${cell(sm)} | ` +
        `${sc.errors}/${sn.errors}/${sm ? sm.errors : '-'} | ${sm?.avg ? ratio(sm.avg, sc.avg) : 'n/a'} | ` +
        `${sm?.avg ? ratio(sm.avg, sn.avg) : 'n/a'} | ${sm?.avg ? ratio(sm.avg, native) : 'n/a'} |`);
    if (sm?.avg) {
      goals.push([`avg below containers: ${pattern} ${fn}`, `${ms(sm.avg)} vs ${ms(sc.avg)} ms`, sm.avg < sc.avg && sm.errors === 0]);
      if (pattern === 'mcsa')
        goals.push([`max 100x lower than containers: mcsa ${fn}`, `${ms(sm.max)} vs ${ms(sc.max)} ms (${ratio(sc.max, sm.max)})`,
                    sc.max >= 100 * sm.max]);
    }
  }
  say();
  say('Server-reported split, median (max) in us: mote\'s `X-Mote-Wait-Us / Init-Us / Exec-Us`; the container ' +
      'platform\'s wait (driver), init (cold start: `docker run` until the proxy answers, cold calls only) and exec.');
  say();
  say('| function | mote wait | mote init | mote exec | containers wait | containers init (cold) | containers exec |');
  say('| --- | --- | --- | --- | --- | --- | --- |');
  const split = (cs, key) => {
    const xs = (cs || []).filter((x) => x.status === 200 && x[key] !== null).map((x) => x[key]);
    return xs.length ? `${median(xs)} (${Math.max(...xs)})` : 'n/a';
  };
  for (const fn of functions) {
    const c = calls(pattern, fn, 'containers'), m = calls(pattern, fn, 'mote');
    const coldC = (c || []).filter((x) => x.cold === 1);
    say(`| ${fn} | ${split(m, 'wait_us')} | ${split(m, 'init_us')} | ${split(m, 'exec_us')} | ${split(c, 'wait_us')} | ` +
        `${split(coldC, 'init_us')} | ${split(c, 'exec_us')} |`);
  }
  say();
  say(`![${title}](figure-${pattern}.png)`);
  say();
  // The plot's data: latency per request in the order the requests started.
  for (const fn of functions)
    for (const p of platforms) {
      const cs = calls(pattern, fn, p);
      writeFileSync(join(dataDir, `fig-${pattern}-${fn}-${p}.dat`),
                    cs ? cs.map((x, i) => `${i + 1} ${(x.latency_us / 1000).toFixed(3)}`).join('\n') + '\n' : '');
    }
}

// ---- throughput and memory ----
say('## Throughput at saturation and memory per live instance');
say();
say(`wrk -t2 -c8 for ${machine.wrk_s} s after a 2 s warm-up (the container platform then has up to 8 warm ` +
    'containers). Memory is sampled half-way through: mote and Node, the growth of the server\'s RSS over ' +
    `its idle RSS (mote ${memory.idle_mote_kib} KiB, Node ${memory.idle_node_kib} KiB) divided by the instances ` +
    `live at once (mote: its ${memory.mote_workers} workers; Node: 1, it runs one call at a time); containers: ` +
    'per container, the PSS of its processes (action proxy + containerd shim), and its cgroup\'s charge when readable.');
say();
say('| function | platform | calls/s | non-2xx | live instances | memory per instance (KiB) | mote calls/s / this |');
say('| --- | --- | --- | --- | --- | --- | --- |');
const tput = lines('throughput.txt').map((l) => l.split(' '));
for (const fn of functions) {
  const rows = tput.filter((r) => r[0] === fn);
  const moteRps = Number((rows.find((r) => r[1] === 'mote') || [])[2] || 0);
  for (const [, p, rps, bad, n, kib, cg] of rows) {
    const live = p === 'mote' ? memory.mote_workers : Number(n);
    const per = live > 0 ? Math.round(Number(kib) / live) : 0;
    const cgroup = p === 'containers' && Number(cg) > 0 ? ` (cgroup ${Math.round(Number(cg) / live)})` : '';
    say(`| ${fn} | ${p} | ${rps} | ${bad} | ${live} | ${per < 0 ? 'n/a (RSS fell below idle: GC)' : per}${cgroup} | ${moteRps ? ratio(moteRps, Number(rps)) : 'n/a'} |`);
    if (p === 'node' && moteRps)
      goals.push([`throughput >= 10x Node (${fn})`, `${moteRps} vs ${rps} calls/s (${ratio(moteRps, Number(rps))})`, moteRps >= 10 * Number(rps)]);
  }
}
say();
say(`Container platform over the run: ${containerStats.calls} calls, ${containerStats.cold_starts} cold starts.`);
const nodeCrashes = existsSync(join(dataDir, 'node-crashes.txt')) ? lines('node-crashes.txt') : [];
say(`The Node prototype (Node ${process.version}) crashed ${nodeCrashes.length} times during the run ` +
    '(segmentation faults under load; restarted by bench/paper.sh; calls it dropped count as errors above, ' +
    'and its throughput is what it completed).');
say();

// ---- goals ----
say('## Goals (issue 5), as measured in this run');
say();
say('| goal | measured | met |');
say('| --- | --- | --- |');
for (const [g, v, ok] of goals) say(`| ${g} | ${v} | ${ok ? 'yes' : '**no**'} |`);
const missing = functions.filter((fn) => !calls('scma', fn, 'mote'));
if (missing.length) say(`| mote cells for ${missing.join(', ')} | not deployed (see the run's log) | **no** |`);
say();
say(`${goals.filter((g) => g[2]).length} of ${goals.length + missing.length} goals met.`);
writeFileSync(reportPath, out.join('\n') + '\n');

// Deterministic input bytes for `wasm-opt --translate-to-fuzz`.
//
//   node tests/diff/bytes.mjs SEED INDEX COUNT > FILE
//
// splitmix64 seeded with SEED and INDEX, so module INDEX of a run does not
// depend on the modules before it (a failure can be regenerated alone).
import { writeSync } from 'node:fs';

const [seedArg, indexArg, countArg] = process.argv.slice(2);
if (countArg === undefined) {
  process.stderr.write('usage: bytes.mjs SEED INDEX COUNT\n');
  process.exit(2);
}
const M = (1n << 64n) - 1n;
let state = (BigInt(seedArg) * 0x9e3779b97f4a7c15n + BigInt(indexArg) * 0xd1b54a32d192ed03n) & M;

function next() {
  state = (state + 0x9e3779b97f4a7c15n) & M;
  let z = state;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
  return z ^ (z >> 31n);
}

const count = Number(countArg);
const out = Buffer.alloc(count);
for (let i = 0; i < count; i += 8) {
  const v = next();
  for (let k = 0; k < 8 && i + k < count; k++) out[i + k] = Number((v >> BigInt(8 * k)) & 0xffn);
}
writeSync(1, out);

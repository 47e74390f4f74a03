// Writes the data files of a YoWASP npm package (its gen/resources-*.js: an
// object `filesystem` of folders, each file either its text or a URL of a file
// shipped beside it) as a directory tree, so the package's WASI module can be
// given them with --dir. Used by bench/corpus.sh for Yosys's share/ folder.
//
//   node bench/corpus/yowasp-share.mjs RESOURCES.js OUT_DIR
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const [resources, outDir] = process.argv.slice(2);
if (!resources || !outDir) {
  process.stderr.write('usage: yowasp-share.mjs RESOURCES.js OUT_DIR\n');
  process.exit(64);
}
const { filesystem } = await import(pathToFileURL(resolve(resources)).href);
if (!filesystem || typeof filesystem !== 'object') {
  process.stderr.write(`yowasp-share: ${resources} has no filesystem object\n`);
  process.exit(65);
}
function write(tree, dir) {
  mkdirSync(dir, { recursive: true });
  for (const [name, v] of Object.entries(tree)) {
    if (name.includes('/') || name === '..' || name === '.') throw new Error(`bad name ${name}`);
    const path = join(dir, name);
    if (typeof v === 'string') writeFileSync(path, v);
    else if (v instanceof URL) copyFileSync(fileURLToPath(v), path);
    else if (v instanceof Uint8Array) writeFileSync(path, v);
    else if (v && typeof v === 'object') write(v, path);
    else throw new Error(`${path}: neither text, URL nor folder`);
  }
}
write(filesystem, outDir);

#!/usr/bin/env node
// Compiles the server, the admin CLI, the rescue tool and the migrations from TypeScript to JavaScript in
// dist/, for the Docker image (`npm run build:server`). `npm start` and the tests keep running the
// TypeScript through tsx, which uses this same transform (esbuild, one file at a time, types stripped):
// the image runs what the tests ran. Type errors are caught by `npm run typecheck` (part of `npm test`).
//
// dist/ mirrors the source tree (server/, client/crypto/, scripts/, migrations/), so the code finds
// views/, public/ and migrations/ relative to itself exactly as it does in a checkout.
import { build } from 'esbuild';
import { readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// another folder may be named on the command line (the test of the compiled server uses a temp folder)
const out = resolve(process.argv[2] ?? join(root, 'dist'));

/** Every .ts file under a folder (tests and type declarations excluded). */
async function tsFiles(dir) {
  const found = [];
  for (const ent of await readdir(join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${ent.name}`;
    if (ent.isDirectory()) found.push(...(await tsFiles(rel)));
    else if (ent.name.endsWith('.ts') && !ent.name.endsWith('.d.ts') && !ent.name.endsWith('.test.ts')) found.push(rel);
  }
  return found;
}

async function main() {
  await rm(out, { recursive: true, force: true });
  const entryPoints = [
    ...(await tsFiles('server')),
    ...(await tsFiles('client/crypto')),
    ...(await tsFiles('migrations')),
    // the two tools and what they import from scripts/ (bench and build scripts stay out)
    'scripts/admin.ts',
    'scripts/admin-print.ts',
    'scripts/rescue.ts',
    'scripts/rescue-lib.ts',
    'scripts/rescue-shared.ts',
  ];
  await build({
    absWorkingDir: root,
    entryPoints,
    outdir: out,
    outbase: root,
    bundle: false,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  process.stdout.write(`compiled ${entryPoints.length} files into ${out}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

#!/usr/bin/env node
// Builds the browser code into public/ (run by `npm run build`, and before `npm start`).
//   client/main.ts       → public/assets/app.js (+ lazily loaded chunks), ESM, minified, source maps
//   client/worker/kdf.ts → public/assets/kdf-worker.js (module worker; Argon2id off the main thread)
//   client/worker/encrypt.ts, decrypt.ts → public/assets/encrypt-worker.js, decrypt-worker.js (documents:
//     chunked encryption for uploads, streamed decryption for previews and downloads)
//   htmx                 → public/vendor/htmx.min.js
// Everything here is reproducible output and gitignored.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const assets = join(root, 'public', 'assets');
const vendor = join(root, 'public', 'vendor');

// libsodium's Emscripten glue mentions Node modules inside branches that only run under Node. They must
// never be bundled (they do not exist in a browser): leave the names external so the dead branch stays dead.
const nodeBuiltins = ['crypto', 'fs', 'path', 'url', 'module', 'worker_threads', 'node:*'];

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  minify: true,
  sourcemap: true,
  platform: 'browser',
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  external: nodeBuiltins,
  legalComments: 'linked',
  logLevel: 'warning',
  absWorkingDir: root,
};

async function main() {
  await rm(assets, { recursive: true, force: true });
  await mkdir(assets, { recursive: true });
  await mkdir(vendor, { recursive: true });

  await Promise.all([
    build({
      ...common,
      entryPoints: { app: 'client/main.ts' },
      outdir: assets,
      // Code split so the crypto core and the password-strength dictionary only load on pages that use them.
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
    }),
    build({
      ...common,
      entryPoints: {
        'kdf-worker': 'client/worker/kdf.ts',
        'encrypt-worker': 'client/worker/encrypt.ts',
        'decrypt-worker': 'client/worker/decrypt.ts',
      },
      outdir: assets,
    }),
  ]);

  const require = createRequire(import.meta.url);
  const htmxDir = dirname(require.resolve('htmx.org/package.json'));
  await copyFile(join(htmxDir, 'dist', 'htmx.min.js'), join(vendor, 'htmx.min.js'));

  console.log('client built → public/assets, public/vendor');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

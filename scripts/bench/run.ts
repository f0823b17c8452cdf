/**
 * npm run bench: prints figures side by side from one run on this machine. Never part of the tests.
 * Argon2id (the password KDF) in Node and in Chromium through the page's real worker, then the document
 * vault: encryption rates (scripts/bench/documents.ts), 1 GiB transfers (scripts/bench/transfer.ts) and
 * the list page with 10,000 documents (scripts/bench/list.ts), and many documents at once
 * (scripts/bench/many.ts). `npm run bench -- argon2`, `-- crypto`, `-- transfer`, `-- list` or `-- many`
 * runs one part; `-- documents` runs the encryption rates and the transfers.
 */
import { deriveMasterKey, ready, toB64, type KdfParams } from '../../client/crypto/index.js';
import { launch } from '../../test/e2e/browser.js';
import { startTestServer } from '../../test/helpers/server.js';
import { documentBenchmarks } from './documents.js';
import { transferBenchmarks } from './transfer.js';
import { listBenchmarks } from './list.js';
import { downloadBenchmarks } from './download.js';
import { manyBenchmarks } from './many.js';

const MiB = 1024 * 1024;
const RUNS = 3;
const SETTINGS = [
  { ops: 3, mem: 64 * MiB, label: 'ops 3, 64 MiB (floor)' },
  { ops: 3, mem: 256 * MiB, label: 'ops 3, 256 MiB (default)' },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function nodeArgon(ops: number, mem: number): Promise<number[]> {
  await ready();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const kdf: KdfParams = { alg: 'argon2id13', ops, mem, salt: toB64(new Uint8Array(16).fill(i)) };
    const t0 = performance.now();
    deriveMasterKey('correct horse battery staple', kdf);
    times.push(performance.now() - t0);
  }
  return times;
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const browser = await launch();
  try {
    if (!only || only === 'argon2') await argon2(browser);
    if (!only || only === 'documents' || only === 'crypto') process.stdout.write(await documentBenchmarks(browser));
    if (!only || only === 'documents' || only === 'transfer') process.stdout.write(await transferBenchmarks());
    if (!only || only === 'list') process.stdout.write(await listBenchmarks(browser));
    // `-- many` prints every figure of "many documents at once": the drops, then one large download and the ZIP
    if (!only || only === 'many') process.stdout.write(await manyBenchmarks());
    if (!only || only === 'download' || only === 'many') process.stdout.write(await downloadBenchmarks());
  } finally {
    await browser.close();
  }
}

async function argon2(browser: Awaited<ReturnType<typeof launch>>): Promise<void> {
  const server = await startTestServer();
  const base = await server.listen();
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/login`);
    const rows: string[][] = [];
    for (const s of SETTINGS) {
      const inNode = await nodeArgon(s.ops, s.mem);
      // the real worker the pages use: a fresh worker per derivation, as login does
      const inBrowser = await page.evaluate(
        async ({ ops, mem, runs }) => {
          const times: number[] = [];
          for (let i = 0; i < runs; i++) {
            const salt = 'AAAAAAAAAAAAAAAAAAAAAA';
            const t0 = performance.now();
            await new Promise<void>((resolve, reject) => {
              const w = new Worker('/assets/kdf-worker.js', { type: 'module' });
              w.onmessage = (e) => {
                w.terminate();
                if (e.data.error) reject(new Error(e.data.error));
                else resolve();
              };
              w.postMessage({ password: 'correct horse battery staple', kdf: { alg: 'argon2id13', ops, mem, salt } });
            });
            times.push(performance.now() - t0);
          }
          return times;
        },
        { ops: s.ops, mem: s.mem, runs: RUNS },
      );
      rows.push([s.label, `${median(inNode).toFixed(0)} ms`, `${median(inBrowser).toFixed(0)} ms`, (median(inBrowser) / median(inNode)).toFixed(2)]);
    }
    const head = ['Argon2id', `Node (median of ${RUNS})`, `Chromium worker (median of ${RUNS})`, 'browser / node'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
    process.stdout.write(`Argon2id, one derivation\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}\n`);
  } finally {
    await server.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

/**
 * `npm run bench -- download`: downloads through the real page, side by side in one run.
 * - One large document (1 GiB; BENCH_DOWNLOAD_MIB for another size) through the panel's Download button,
 *   against the same decrypt worker fed the same blob already held in the page's memory (decrypt-only),
 *   and a plain download of the blob.
 * - Many selected documents as one ZIP (20 × 10 MiB; BENCH_ZIP_COUNT, BENCH_ZIP_MIB) against one document
 *   of the same total size through the panel.
 * Each figure is the median of BENCH_RUNS runs (3), the runs of the things compared taken in turn.
 * The browser is driven over a bare DevTools pipe, as in transfer.ts.
 */
import { randomBytes } from 'node:crypto';
import { upload, makeDocument } from '../../test/helpers/documents.js';
import { download, setUp } from './transfer.js';
import { MiB, median, table } from './shared.js';

const BIG = Number(process.env.BENCH_DOWNLOAD_MIB ?? 1024) * MiB;
const ZIP_COUNT = Number(process.env.BENCH_ZIP_COUNT ?? 20);
const ZIP_EACH = Number(process.env.BENCH_ZIP_MIB ?? 10) * MiB;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

type Setup = Awaited<ReturnType<typeof setUp>>;

/** Encrypts `size` random bytes with the crypto core, as the page would, and uploads them. */
async function addDocument(s: Setup, size: number, name: string): Promise<{ id: string; docKey: Uint8Array }> {
  const doc = makeDocument(s.keys, s.client.userId, randomBytes(size), name);
  const res = await upload(s.client, doc, 16 * MiB);
  if (res.status !== 204) throw new Error(`upload of ${name}: ${res.status}`);
  return { id: doc.id, docKey: doc.docKey };
}

/**
 * The real decrypt worker over the blob already in the page's memory: fetched first (not timed) and cut in
 * the pieces the page hands over (one encrypted chunk each, the first with the header), then all handed
 * over at once, until the worker holds the verified plaintext.
 */
async function decryptOnly(s: Setup, id: string, docKey: Uint8Array): Promise<number> {
  return s.page.evaluate<number>(`(async () => {
    const res = await fetch('/api/documents/${id}/blob');
    const all = new Uint8Array(await res.arrayBuffer());
    const pieces = [];
    const unit = 4 * 1024 * 1024 + 17;
    for (let o = 0, n = 32 + unit; o < all.length; o += n, n = unit) pieces.push(all.slice(o, o + n));
    const w = new Worker('/assets/decrypt-worker.js', { type: 'module' });
    const t0 = performance.now();
    await new Promise((resolve, reject) => {
      w.onmessage = (e) => {
        if (e.data.type === 'error') reject(new Error(e.data.message));
        else if (e.data.type === 'done') resolve(e.data.blob);
      };
      w.postMessage({ type: 'start', docKey: Uint8Array.from(${JSON.stringify(Array.from(docKey))}), docId: '${id}', mediaType: 'application/octet-stream' });
      for (const bytes of pieces) w.postMessage({ type: 'bytes', bytes }, [bytes.buffer]);
      w.postMessage({ type: 'end' });
    });
    const ms = performance.now() - t0;
    w.terminate();
    return ms;
  })()`);
}

async function reloadList(s: Setup, count: number): Promise<void> {
  await s.page.goto(`${s.url}/documents`);
  await s.page.waitFor(`document.querySelector('[data-docs-table][data-ready="true"][data-total="${count}"]')`, 120_000);
}

export async function downloadBenchmarks(): Promise<string> {
  const s = await setUp();
  try {
    const big = await addDocument(s, BIG, 'big.bin');
    await reloadList(s, 1);
    const only: number[] = [];
    const panel: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      only.push(await decryptOnly(s, big.id, big.docKey));
      const d = await download(s, big.id);
      panel.push(d.decryptMs);
      plain.push(d.plainMs);
    }
    const rate = (bytes: number, ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
    const [o, p, n] = [median(only), median(panel), median(plain)];
    let out = `\nDownloading one document of ${BIG / MiB} MiB (median of ${RUNS}; browser driven without network instrumentation)\n`;
    out += table(
      ['what', 'time', 'rate', 'ratio', 'goal'],
      [
        ['decrypt only (the real decrypt worker, blob already in memory)', `${(o / 1000).toFixed(2)} s`, rate(BIG, o), '', ''],
        ['download + decrypt (the panel’s Download)', `${(p / 1000).toFixed(2)} s`, rate(BIG, p), `${(o / p).toFixed(2)} × decrypt-only`, '≥ 0.8'],
        ['plain download of the same blob', `${(n / 1000).toFixed(2)} s`, rate(BIG, n), '', ''],
      ],
    );
    return out;
  } finally {
    await s.stop();
  }
}

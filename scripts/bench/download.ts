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

/**
 * The way the page fed the worker before (each piece posted as the network delivered it, at most three
 * chunks ahead), against the same worker, for a side-by-side figure.
 */
async function piecesAsTheyCome(s: Setup, id: string, docKey: Uint8Array): Promise<number> {
  return s.page.evaluate<number>(`(async () => {
    const w = new Worker('/assets/decrypt-worker.js', { type: 'module' });
    const t0 = performance.now();
    let ahead = 0;
    let wake = null;
    const done = new Promise((resolve, reject) => {
      w.onmessage = (e) => {
        if (e.data.type === 'error') reject(new Error(e.data.message));
        else if (e.data.type === 'taken') { ahead -= e.data.bytes.length; if (ahead <= 3 * 4194304) wake?.(); }
        else if (e.data.type === 'done') resolve(e.data.blob);
      };
    });
    w.postMessage({ type: 'start', docKey: Uint8Array.from(${JSON.stringify(Array.from(docKey))}), docId: '${id}', mediaType: 'application/octet-stream' });
    const reader = (await fetch('/api/documents/${id}/blob', { cache: 'no-store' })).body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      ahead += value.length;
      const bytes = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
      w.postMessage({ type: 'bytes', bytes }, [bytes.buffer]);
      while (ahead > 3 * 4194304) await new Promise((r) => (wake = r));
    }
    w.postMessage({ type: 'end' });
    await done;
    w.terminate();
    return performance.now() - t0;
  })()`);
}

/** Ticks the documents whose names contain `word` (search, then "select all shown") and times Download as ZIP. */
async function zipThroughPage(s: Setup, word: string): Promise<number> {
  await s.page.evaluate(`(() => {
    const search = document.querySelector('[data-docs-search]');
    search.value = ${JSON.stringify(word)};
    search.dispatchEvent(new Event('input'));
    const all = document.querySelector('[data-docs-select-all]');
    if (!all.checked) all.click();
    search.value = '';
    search.dispatchEvent(new Event('input'));
  })()`);
  const before = await s.page.evaluate<string>(`document.querySelector('[data-docs-selection]').dataset.zipSaved ?? ''`);
  const t0 = performance.now();
  await s.page.evaluate(`document.querySelector('[data-docs-zip]').click()`);
  await s.page.waitFor(
    `(() => { const b = document.querySelector('[data-docs-selection]'); return (b.dataset.zipSaved ?? '') !== ${JSON.stringify(before)} || ['damaged', 'error'].includes(b.dataset.zipState); })()`,
    15 * 60_000,
    50,
  );
  const ms = performance.now() - t0;
  const state = await s.page.evaluate<string>(`document.querySelector('[data-docs-selection]').dataset.zipSaved ? 'ok' : document.querySelector('[data-docs-zip-error]').textContent`);
  if (state !== 'ok') throw new Error(`the ZIP failed: ${state}`);
  return ms;
}

async function reloadList(s: Setup, count: number): Promise<void> {
  await s.page.goto(`${s.url}/documents`);
  await s.page.waitFor(`document.querySelector('[data-docs-table][data-ready="true"][data-total="${count}"]')`, 120_000);
}

export async function downloadBenchmarks(): Promise<string> {
  const s = await setUp();
  try {
    const big = await addDocument(s, BIG, 'big.bin');
    const one = await addDocument(s, ZIP_COUNT * ZIP_EACH, 'one-of-the-same-size.bin');
    for (let i = 0; i < ZIP_COUNT; i++) await addDocument(s, ZIP_EACH, `zip-${String(i + 1).padStart(3, '0')}.bin`);
    await reloadList(s, ZIP_COUNT + 2);
    const only: number[] = [];
    const panel: number[] = [];
    const plain: number[] = [];
    const before: number[] = [];
    const zip: number[] = [];
    const single: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      only.push(await decryptOnly(s, big.id, big.docKey));
      const d = await download(s, big.id);
      panel.push(d.decryptMs);
      plain.push(d.plainMs);
      before.push(await piecesAsTheyCome(s, big.id, big.docKey));
      zip.push(await zipThroughPage(s, 'zip-'));
      single.push((await download(s, one.id)).decryptMs);
    }
    const rate = (bytes: number, ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
    const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const [o, p, n, b] = [median(only), median(panel), median(plain), median(before)];
    let out = `\nDownloading one document of ${BIG / MiB} MiB (median of ${RUNS}; browser driven without network instrumentation)\n`;
    out += table(
      ['what', 'time', 'rate', 'ratio', 'goal'],
      [
        ['decrypt only (the real decrypt worker, blob already in memory)', secs(o), rate(BIG, o), '', ''],
        ['download + decrypt (the panel’s Download)', secs(p), rate(BIG, p), `${(o / p).toFixed(2)} × decrypt-only`, '≥ 0.8'],
        ['the same, each network piece posted as it comes (the page before)', secs(b), rate(BIG, b), `${(o / b).toFixed(2)} × decrypt-only`, ''],
        ['plain download of the same blob', secs(n), rate(BIG, n), '', ''],
      ],
    );
    const total = ZIP_COUNT * ZIP_EACH;
    const [z, one1] = [median(zip), median(single)];
    out += `\n${ZIP_COUNT} documents of ${ZIP_EACH / MiB} MiB as one ZIP (selection bar) against one document of ${total / MiB} MiB (panel), median of ${RUNS}\n`;
    out += table(
      ['what', 'time', 'rate', 'ratio', 'goal'],
      [
        [`${ZIP_COUNT} documents as one ZIP`, secs(z), rate(total, z), `${(one1 / z).toFixed(2)} × one document`, '≥ 0.5'],
        [`one document of ${total / MiB} MiB`, secs(one1), rate(total, one1), '', ''],
      ],
    );
    return out;
  } finally {
    await s.stop();
  }
}

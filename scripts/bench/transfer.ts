/**
 * The 1 GiB figures of the document vault: encrypt + upload and download + decrypt through the real page
 * and its workers, each beside a plain transfer of the same bytes, unthrottled and under Chromium's network
 * emulation at 1 Gbit/s; and the memory of the server process and of the page during the upload.
 *
 * The browser is driven over a bare DevTools pipe (raw-chromium.ts), not Playwright: Playwright's network
 * instrumentation copies every request body into DevTools and would measure itself.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { TestClient } from '../../test/helpers/client.js';
import { tusMetadata } from '../../test/helpers/documents.js';
import {
  blobSize,
  exportUnlockedKeys,
  newDocKey,
  sealDocMeta,
  toB64,
  wrapDocKeyForOwner,
  type UnlockedKeys,
} from '../../client/crypto/index.js';
import { EncryptedSource } from '../../client/pages/documents-encrypt.js';
import { RawChromium, type RawPage } from './raw-chromium.js';
import { MiB, benchVault, coresBusy, cpuTicks, mbps, randomFile, rssOf, table } from './shared.js';

/** 1 GiB; BENCH_TRANSFER_MIB sets another size for a quick look. */
const BIG = Number(process.env.BENCH_TRANSFER_MIB ?? 1024) * MiB;
/** Chromium's network emulation: what a family's wired LAN gives (1 Gbit/s each way, no added latency). */
const LAN = { offline: false, latency: 0, downloadThroughput: 1e9 / 8, uploadThroughput: 1e9 / 8 };

interface Setup {
  url: string;
  pid: number;
  client: TestClient;
  keys: UnlockedKeys;
  page: RawPage;
  dataDir: string;
  stop: () => Promise<void>;
}

export async function setUp(): Promise<Setup> {
  const { dataDir, server, client, keys, sid } = await benchVault(16384);

  const browser = await RawChromium.launch();
  // the panel saves what it decrypted: not to this machine's disk
  await browser.send('Browser.setDownloadBehavior', { behavior: 'deny' });
  await browser.send('Storage.setCookies', { cookies: [{ name: 'heirloom.sid', value: sid, url: server.url }] });
  const page = await browser.newPage();
  await page.goto(`${server.url}/login`);
  await page.evaluate(
    `sessionStorage.setItem('heirloom.keys', ${JSON.stringify(exportUnlockedKeys(keys))});` +
      `sessionStorage.setItem('heirloom.lastActive', String(Date.now()))`,
  );
  await page.goto(`${server.url}/documents`);
  await page.waitFor(`document.querySelector('[data-docs-table][data-ready="true"]')`);
  // a file input of the benchmark's own, for the same file outside the upload form
  await page.evaluate(`{ const i = document.createElement('input'); i.type = 'file'; i.id = 'bench-file'; i.hidden = true; document.body.append(i); }`);
  return {
    url: server.url,
    pid: server.proc.pid ?? 0,
    client,
    keys,
    page,
    dataDir,
    stop: async () => {
      await browser.close();
      server.proc.kill('SIGTERM');
      await new Promise((r) => server.proc.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The real encrypt worker over the whole file from disk, as fast as the page can take its pieces. */
export async function encryptOnly(page: RawPage, file: string): Promise<number> {
  await page.setInputFiles('#bench-file', [file]);
  return page.evaluate<number>(`new Promise((resolve, reject) => {
    const file = document.getElementById('bench-file').files[0];
    const w = new Worker('/assets/encrypt-worker.js', { type: 'module' });
    const t0 = performance.now();
    w.onmessage = (e) => {
      if (e.data.type === 'error') return reject(new Error(e.data.message));
      if (e.data.last) { w.terminate(); return resolve(performance.now() - t0); }
      w.postMessage({ type: 'pull' });
    };
    w.postMessage({ type: 'start', file, docKey: new Uint8Array(32).fill(1), docId: ${JSON.stringify(randomUUID())}, chunkSize: 4 * 1024 * 1024 });
    w.postMessage({ type: 'pull' });
  })`);
}

/** Upload through the page's own picker; samples the server's RSS and the page's JS heap meanwhile. */
export async function uploadThroughPage(s: Setup, file: string) {
  const count = await s.page.evaluate<number>(`document.querySelectorAll('[data-upload][data-upload-state="done"]').length`);
  const rss0 = rssOf(s.pid);
  const heap0 = await s.page.heapUsed();
  let rssMax = rss0;
  let heapMax = heap0;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, rssOf(s.pid));
    s.page.heapUsed().then((h) => (heapMax = Math.max(heapMax, h)), () => {});
  }, 250);
  const t0 = performance.now();
  await s.page.setInputFiles('[data-upload-input]', [file]);
  try {
    await s.page.waitFor(
      `document.querySelectorAll('[data-upload][data-upload-state="done"]').length > ${count} || document.querySelector('[data-upload][data-upload-state="failed"]')`,
      15 * 60_000,
      100,
    );
  } finally {
    clearInterval(sampler);
  }
  const ms = performance.now() - t0;
  const id = await s.page.evaluate<string | null>(
    `[...document.querySelectorAll('[data-upload][data-upload-state="done"]')][${count}]?.dataset.docId ?? null`,
  );
  if (!id) throw new Error(`the upload failed: ${await s.page.evaluate<string>(`document.querySelector('[data-upload-status]')?.textContent`)}`);
  return { ms, id, rssGrowth: rssMax - rss0, heapGrowth: heapMax - heap0 };
}

/**
 * A plain upload of ciphertext already made (the stored blob of an earlier upload, as a file from disk),
 * by the same protocol and in requests of the same size as the page's, with no encryption in the way.
 */
export async function plainUpload(s: Setup, blobFile: string): Promise<number> {
  const id = randomUUID();
  const docKey = newDocKey();
  const meta = { name: 'plain.bin', type: 'application/octet-stream', size: BIG, modified: Date.now(), tags: [] };
  const metadata = tusMetadata({
    docId: id,
    meta: toB64(sealDocMeta(docKey, id, meta)),
    keyWrap: toB64(wrapDocKeyForOwner(s.keys.accountKey, docKey, id, s.client.userId)),
  });
  await s.page.setInputFiles('#bench-file', [blobFile]);
  return s.page.evaluate<number>(`(async () => {
    const file = document.getElementById('bench-file').files[0];
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const send = (method, url, headers, body) => new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open(method, url);
      for (const [k, v] of Object.entries({ 'Tus-Resumable': '1.0.0', 'X-CSRF-Token': token, ...headers })) x.setRequestHeader(k, v);
      x.onload = () => (x.status < 300 ? resolve(x) : reject(new Error(method + ' ' + x.status + ' ' + x.responseText)));
      x.onerror = () => reject(new Error(method + ' failed'));
      x.send(body);
    });
    const t0 = performance.now();
    const created = await send('POST', '/api/uploads', { 'Upload-Length': String(file.size), 'Upload-Metadata': ${JSON.stringify(metadata)} });
    const url = new URL(created.getResponseHeader('Location'), location.href).href;
    for (let offset = 0; offset < file.size; ) {
      const body = file.slice(offset, offset + ${EncryptedSource.REQUEST_BYTES});
      const res = await send('PATCH', url, { 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' }, body);
      offset = Number(res.getResponseHeader('Upload-Offset'));
    }
    return performance.now() - t0;
  })()`);
}

/**
 * Download + decrypt through the document panel's own Download button (the page streams the blob to its
 * decrypt worker), timed until the panel holds the verified plaintext; and a plain download of the same blob.
 */
export async function download(s: Setup, id: string) {
  const url = `/api/documents/${id}/blob`;
  await s.page.evaluate(`document.querySelector('tr[data-doc-row][data-doc-id="${id}"] [data-doc-open]').click()`);
  await s.page.waitFor(`document.querySelector('dialog[data-doc-panel][open][data-doc-id="${id}"]')`);
  const t0 = performance.now();
  await s.page.evaluate(`document.querySelector('dialog[data-doc-panel] [data-doc-download]').click()`);
  await s.page.waitFor(
    `['ready', 'damaged', 'error'].includes(document.querySelector('dialog[data-doc-panel]').dataset.docState)`,
    15 * 60_000,
    50,
  );
  const decryptMs = performance.now() - t0;
  const state = await s.page.evaluate<string>(`document.querySelector('dialog[data-doc-panel]').dataset.docState`);
  if (state !== 'ready') throw new Error(`the download ended ${state}`);
  await s.page.evaluate(`document.querySelector('dialog[data-doc-panel]').close()`);
  const plainMs = await s.page.evaluate<number>(`(async () => {
    const t0 = performance.now();
    const reader = (await fetch(${JSON.stringify(url)})).body.getReader();
    while (!(await reader.read()).done);
    return performance.now() - t0;
  })()`);
  return { decryptMs, plainMs };
}

export async function transferBenchmarks(): Promise<string> {
  const s = await setUp();
  const tmp = mkdtempSync(path.join(tmpdir(), 'heirloom-bench-files-'));
  try {
    const file = randomFile(tmp, 'one-gibibyte.bin', BIG);
    const bytes = blobSize(BIG);
    const cores = availableParallelism();
    const busy = async <T>(run: () => Promise<T>): Promise<[T, string]> => {
      const from = cpuTicks();
      const result = await run();
      return [result, `${coresBusy(from, cpuTicks(), cores).toFixed(1)} of ${cores}`];
    };
    const [encryptMs, encryptCpu] = await busy(() => encryptOnly(s.page, file));
    const [up, upCpu] = await busy(() => uploadThroughPage(s, file));
    const blobFile = path.join(tmp, 'ciphertext.bin');
    copyFileSync(path.join(s.dataDir, 'blobs', up.id.slice(0, 2), up.id), blobFile);
    const [plainUp, plainUpCpu] = await busy(() => plainUpload(s, blobFile));
    const down = await download(s, up.id);

    // Emulation only takes effect with the network domain on; keep it from copying bodies into DevTools.
    await s.page.send('Network.enable', { maxPostDataSize: 0, maxResourceBufferSize: 0, maxTotalBufferSize: 0 });
    await s.page.send('Network.emulateNetworkConditions', LAN);
    const lanUp = await uploadThroughPage(s, file);
    const lanPlainUp = await plainUpload(s, blobFile);
    const lanDown = await download(s, lanUp.id);
    await s.page.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await s.page.send('Network.disable');

    const rate = (ms: number) => mbps(bytes, ms);
    const row = (what: string, ms: number, ratio: string, goal: string, cpu = '') => [what, `${(ms / 1000).toFixed(1)} s`, rate(ms), ratio, goal, cpu];
    const x = (a: number, b: number, of: string) => `${(b / a).toFixed(2)} × ${of}`;
    let out = '\n1 GiB through the real page and server (a file from disk; browser driven without network instrumentation)\n';
    out += table(
      ['what', 'time', 'rate', 'ratio', 'goal', 'CPU cores busy (whole machine)'],
      [
        row('encrypt only (the real encrypt worker)', encryptMs, '', '', encryptCpu),
        row('encrypt + upload (picker → document row)', up.ms, x(up.ms, encryptMs, 'encrypt-only'), '≥ 0.8', upCpu),
        row('plain upload of the same bytes (tus, same request size)', plainUp, '', '', plainUpCpu),
        row('encrypt + upload vs plain upload', up.ms, x(up.ms, plainUp, 'plain upload'), ''),
        row('download + decrypt (decrypt worker)', down.decryptMs, x(down.decryptMs, down.plainMs, 'plain download'), ''),
        row('plain download of the same blob', down.plainMs, '', ''),
        ['server RSS growth during the upload', `${(up.rssGrowth / MiB).toFixed(0)} MiB`, '', '', '≤ 64 MiB'],
        ['page JS heap growth during the upload', `${(up.heapGrowth / MiB).toFixed(0)} MiB`, '', '', '≤ 64 MiB'],
      ],
    );
    out += '\nThe same under Chromium network emulation at 1 Gbit/s up and down (emulation needs DevTools network tracking, kept from copying bodies)\n';
    out += table(
      ['what', 'time', 'rate', 'ratio', 'goal'],
      [
        row('encrypt + upload', lanUp.ms, x(lanUp.ms, lanPlainUp, 'plain upload'), '≥ 0.9'),
        row('plain upload of the same bytes', lanPlainUp, '', ''),
        row('download + decrypt', lanDown.decryptMs, x(lanDown.decryptMs, lanDown.plainMs, 'plain download'), '≥ 0.9'),
        row('plain download of the same blob', lanDown.plainMs, '', ''),
      ],
    );
    return out;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await s.stop();
  }
}

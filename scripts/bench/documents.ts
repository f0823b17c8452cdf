/**
 * The document vault's figures (issue: the encrypted document vault): crypto throughput in Chromium and
 * Node, a 1 GiB encrypt + upload and download + decrypt through the real page and workers, and memory of the
 * server process and of the page. The list page with 10,000 documents is scripts/bench/list.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import sodium from 'libsodium-wrappers-sumo';
import { TestClient } from '../../test/helpers/client.js';
import { exportUnlockedKeys, type UnlockedKeys } from '../../client/crypto/index.js';
import { MiB, benchVault, randomFile, table } from './shared.js';

const CRYPTO_MIB = 512;
const BIG = 1024 * MiB;

export interface Setup {
  url: string;
  pid: number;
  client: TestClient;
  keys: UnlockedKeys;
  userId: string;
  page: Page;
  dataDir: string;
  stop: () => Promise<void>;
}

export async function setUp(browser: Browser): Promise<Setup> {
  const { dataDir, server, client, keys, sid } = await benchVault(8192);

  const context = await browser.newContext({ acceptDownloads: true });
  await context.addCookies([{ name: 'heirloom.sid', value: sid, url: server.url }]);
  await context.addInitScript((keys: string) => {
    sessionStorage.setItem('heirloom.keys', keys);
    sessionStorage.setItem('heirloom.lastActive', String(Date.now()));
  }, exportUnlockedKeys(keys));
  const page = await context.newPage();
  // the bare push loop, served from the app's own origin so the page's CSP allows it
  const bundle = await build({
    entryPoints: [path.join('scripts', 'bench', 'crypto-worker.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    external: ['crypto', 'fs', 'path', 'url', 'module', 'worker_threads', 'node:*'],
  });
  const workerJs = bundle.outputFiles[0]?.text ?? '';
  await page.route('**/bench/crypto-worker.js', (route) => route.fulfill({ contentType: 'text/javascript', body: workerJs }));
  await page.goto(`${server.url}/documents`);
  await page.waitForSelector('[data-docs-table][data-ready="true"]', { state: 'attached' });
  return {
    url: server.url,
    pid: server.proc.pid ?? 0,
    client,
    keys,
    userId: client.userId,
    page,
    dataDir,
    stop: async () => {
      await context.close();
      server.proc.kill('SIGTERM');
      await new Promise((r) => server.proc.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface BrowserRates {
  bare: number;
  /** the real encrypt worker reading a file from disk, as it does for a person's upload */
  pipeline: number;
  /** the same reading a Blob held in memory (slower: the browser's blob storage is the bottleneck) */
  pipelineMemory: number;
}

/** MB/s of the bare loop and of the real encrypt worker, all in workers of the same page. */
async function browserCrypto(page: Page, file: string): Promise<BrowserRates> {
  const bareMs = await page.evaluate(
    (totalMiB) =>
      new Promise<number>((resolve) => {
        const w = new Worker('/bench/crypto-worker.js', { type: 'module' });
        w.onmessage = (e) => {
          w.terminate();
          resolve(e.data.ms);
        };
        w.postMessage({ totalMiB, chunkMiB: 4 });
      }),
    CRYPTO_MIB,
  );
  await page.evaluate(() => {
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'bench-file';
    input.hidden = true;
    document.body.append(input);
  });
  await page.setInputFiles('#bench-file', file);
  const pipeline = (fromDisk: boolean) => page.evaluate(async ({ totalMiB, fromDisk }) => {
    const piece = new Uint8Array(4 * 1024 * 1024).fill(7);
    const input = document.getElementById('bench-file') as HTMLInputElement;
    const file = fromDisk && input.files?.[0] ? input.files[0] : new Blob(Array.from({ length: totalMiB / 4 }, () => piece));
    const docKey = new Uint8Array(32).fill(1);
    const w = new Worker('/assets/encrypt-worker.js', { type: 'module' });
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      w.onmessage = (e) => {
        if (e.data.type === 'error') return reject(new Error(e.data.message));
        if (e.data.last) return resolve();
        w.postMessage({ type: 'pull' });
      };
      w.postMessage({ type: 'start', file, docKey, docId: '00000000-0000-4000-8000-000000000000', chunkSize: 4 * 1024 * 1024 });
      w.postMessage({ type: 'pull' });
    });
    const ms = performance.now() - t0;
    w.terminate();
    return ms;
  }, { totalMiB: CRYPTO_MIB, fromDisk });
  const diskMs = await pipeline(true);
  const memoryMs = await pipeline(false);
  const rate = (ms: number) => (CRYPTO_MIB * MiB) / 1e6 / (ms / 1000);
  return { bare: rate(bareMs), pipeline: rate(diskMs), pipelineMemory: rate(memoryMs) };
}

async function nodeCrypto(): Promise<{ wasm: number; native: number }> {
  await sodium.ready;
  const chunk = new Uint8Array(4 * MiB).fill(7);
  const ad = new TextEncoder().encode('00000000-0000-4000-8000-000000000000');
  const n = CRYPTO_MIB / 4;
  const { state } = sodium.crypto_secretstream_xchacha20poly1305_init_push(sodium.crypto_secretstream_xchacha20poly1305_keygen());
  let t0 = performance.now();
  for (let i = 0; i < n; i++) sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, ad, 0);
  const wasmMs = performance.now() - t0;

  const native = createRequire(import.meta.url)('sodium-native');
  const key = Buffer.alloc(native.crypto_secretstream_xchacha20poly1305_KEYBYTES);
  native.crypto_secretstream_xchacha20poly1305_keygen(key);
  const st = Buffer.alloc(native.crypto_secretstream_xchacha20poly1305_STATEBYTES);
  const header = Buffer.alloc(native.crypto_secretstream_xchacha20poly1305_HEADERBYTES);
  native.crypto_secretstream_xchacha20poly1305_init_push(st, header, key);
  const out = Buffer.alloc(chunk.length + native.crypto_secretstream_xchacha20poly1305_ABYTES);
  const pt = Buffer.from(chunk);
  const adb = Buffer.from(ad);
  t0 = performance.now();
  for (let i = 0; i < n; i++) {
    native.crypto_secretstream_xchacha20poly1305_push(st, out, pt, adb, native.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  }
  const nativeMs = performance.now() - t0;
  const bytes = CRYPTO_MIB * MiB;
  return { wasm: bytes / 1e6 / (wasmMs / 1000), native: bytes / 1e6 / (nativeMs / 1000) };
}

function cryptoTable(browserRates: BrowserRates, nodeRates: { wasm: number; native: number }): string {
  return `\nEncryption, secretstream push of ${CRYPTO_MIB} MiB in 4 MiB chunks\n${table(
    ['where', 'rate', 'vs bare libsodium.js in Chromium', 'vs native libsodium'],
    [
      ['Chromium, bare libsodium.js loop (worker)', `${browserRates.bare.toFixed(0)} MB/s`, '1.00', (browserRates.bare / nodeRates.native).toFixed(2)],
      ['Chromium, the real encrypt worker, a file from disk (read + encrypt + hand over)', `${browserRates.pipeline.toFixed(0)} MB/s`, (browserRates.pipeline / browserRates.bare).toFixed(2), (browserRates.pipeline / nodeRates.native).toFixed(2)],
      ['Chromium, the real encrypt worker, a Blob held in memory', `${browserRates.pipelineMemory.toFixed(0)} MB/s`, (browserRates.pipelineMemory / browserRates.bare).toFixed(2), (browserRates.pipelineMemory / nodeRates.native).toFixed(2)],
      ['Node, libsodium.js', `${nodeRates.wasm.toFixed(0)} MB/s`, (nodeRates.wasm / browserRates.bare).toFixed(2), (nodeRates.wasm / nodeRates.native).toFixed(2)],
      ['Node, native libsodium (sodium-native)', `${nodeRates.native.toFixed(0)} MB/s`, (nodeRates.native / browserRates.bare).toFixed(2), '1.00'],
    ],
  )}`;
}

/** Encryption rates in Chromium (bare loop and the real worker) and in Node. */
export async function documentBenchmarks(browser: Browser): Promise<string> {
  const s = await setUp(browser);
  const tmp = mkdtempSync(path.join(tmpdir(), 'heirloom-bench-files-'));
  try {
    const file = randomFile(tmp, 'crypto.bin', CRYPTO_MIB * MiB);
    return cryptoTable(await browserCrypto(s.page, file), await nodeCrypto());
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await s.stop();
  }
}

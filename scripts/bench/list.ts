/**
 * The documents list page with 10,000 documents (issue: the encrypted document vault): how long the server
 * takes to produce the list, and how long the page takes to decrypt the names. `npm run bench -- list`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../../server/config.js';
import { openDataFolder } from '../../server/bootstrap.js';
import { blobSize, newDocKey, sealDocMeta, toB64, wrapDocKeyForOwner } from '../../client/crypto/index.js';
import { setUp, type Setup } from './documents.js';
import { median, percentile, table } from './shared.js';

/** Adds documents straight into the database (real envelopes), as if uploaded long ago. */
async function seed(s: Setup, count: number): Promise<void> {
  const config = loadConfig({ HEIRLOOM_DATA_DIR: s.dataDir });
  const data = await openDataFolder(config, { migrate: false });
  const rows = [];
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    const docKey = newDocKey();
    const meta = { name: `Scan ${String(i).padStart(5, '0')} of the family archive.pdf`, type: 'application/pdf', size: 100_000 + i, modified: now - i * 60_000, tags: i % 7 === 0 ? ['taxes'] : ['archive'] };
    rows.push({
      id,
      owner_id: s.userId,
      size: blobSize(meta.size),
      meta: toB64(sealDocMeta(docKey, id, meta)),
      key_wrap: toB64(wrapDocKeyForOwner(s.keys.accountKey, docKey, id, s.userId)),
      created_at: now - i * 60_000,
      updated_at: now - i * 60_000,
      deleted_at: null,
    });
  }
  for (let i = 0; i < rows.length; i += 500) await data.db('documents').insert(rows.slice(i, i + 500));
  await data.db.destroy();
}

async function listPage(s: Setup) {
  const times: number[] = [];
  const renders: number[] = [];
  const cpu0 = cpuMsOf(s.pid);
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    const res = await s.client.agent.get('/documents');
    if (res.status !== 200) throw new Error(`list page: ${res.status}`);
    times.push(performance.now() - t0);
    renders.push(Number(/render;dur=([\d.]+)/.exec(String(res.headers['server-timing']))?.[1]));
  }
  const serverCpu = (cpuMsOf(s.pid) - cpu0) / 40;
  const decrypt: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 3; i++) {
    await s.page.goto(`${s.url}/documents`);
    await s.page.waitForSelector('[data-docs-table][data-ready="true"]', { timeout: 120_000 });
    decrypt.push(Number(await s.page.getAttribute('[data-docs-table]', 'data-decrypt-ms')));
    bytes = Number(await s.page.evaluate(() => document.documentElement.outerHTML.length));
  }
  return {
    p50: percentile(renders, 50),
    p95: percentile(renders, 95),
    fullP95: percentile(times, 95),
    serverCpu,
    decrypt: median(decrypt),
    htmlMB: bytes / 1e6,
  };
}

/**
 * CPU time a process has used, from /proc (clock ticks of 10 ms: read over many requests). Unlike the
 * wall-clock figures it hardly changes when other programs load the machine.
 */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function listBenchmarks(browser: Browser): Promise<string> {
  const s = await setUp(browser);
  try {
    await seed(s, 10_000);
    const list = await listPage(s);
    let out = '';
    out += '\nThe documents page with 10,000 documents\n';
    out += table(
      ['what', 'figure', 'goal'],
      [
        ['server render (queries + template, Server-Timing), p50 of 40', `${list.p50.toFixed(1)} ms`, ''],
        ['server render (queries + template, Server-Timing), p95 of 40', `${list.p95.toFixed(1)} ms`, '≤ 50 ms'],
        ['whole response received over loopback, p95 of 40', `${list.fullP95.toFixed(1)} ms`, ''],
        ['server CPU per page load (the whole request, sending included), mean of 40', `${list.serverCpu.toFixed(1)} ms`, ''],
        ['decrypting 10,000 names in the page (median of 3)', `${list.decrypt.toFixed(0)} ms`, '≤ 500 ms'],
        ['page size', `${list.htmlMB.toFixed(1)} MB`, ''],
      ],
    );
    return out;
  } finally {
    await s.stop();
  }
}

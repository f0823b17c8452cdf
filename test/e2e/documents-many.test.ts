import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { blobSize } from '../../client/crypto/index.js';
import { launch } from './browser.js';
import { expectNoProblems, logIn, openPage, personOf, shown, type WatchedPage } from './flows.js';
import { eventually, openDocuments, uploadsLeft, waitForUploads } from './documents-page.js';

/** The names and tags of the documents in the list, by name. */
async function listed(page: Page): Promise<Map<string, string[]>> {
  const rows = await page.$$eval('tr[data-doc-row]', (trs) =>
    trs.map((tr) => [
      tr.querySelector('[data-doc-name]')?.textContent ?? '',
      Array.from(tr.querySelectorAll('[data-doc-tags] .tag'), (t) => t.textContent ?? ''),
    ]),
  );
  return new Map(rows as [string, string[]][]);
}

/** The server's request log lines (method and path) written after line `from`. */
function requestsSince(t: TestServer, from: number): { method: string; path: string }[] {
  return t
    .logs()
    .split('\n')
    .slice(from)
    .filter((l) => l.includes('"request"'))
    .map((l) => JSON.parse(l) as { method: string; path: string });
}

describe('documents in the browser: many documents at once', function () {
  this.timeout(300_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let tab: WatchedPage;
  let page: Page;
  let folder: string;
  let client: TestClient;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'heirloom-many-e2e-'));
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
    const member = await newMember(t.app, t.services, 'rosa', 'lantern meadow copper 48');
    client = member.client;
    context = await browser.newContext();
    tab = await openPage(context);
    page = tab.page;
    await logIn(page, personOf(member), base);
    await openDocuments(page, base);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('uploads a chosen folder and a dropped one with everything inside, tagged with the folder\'s name, and skips the hidden and system files', async () => {
    // Chosen with "Choose a folder"
    const letters = path.join(folder, 'Letters 1998');
    mkdirSync(path.join(letters, 'Receipts'), { recursive: true });
    mkdirSync(path.join(letters, '__MACOSX'));
    writeFileSync(path.join(letters, 'letter-01.txt'), 'Dear Rosa, the apple tree is in bloom.');
    writeFileSync(path.join(letters, 'letter-02.txt'), 'Dear Rosa, the harvest was good.');
    writeFileSync(path.join(letters, 'Receipts', 'receipt-01.txt'), 'One bicycle, 40 marks.');
    writeFileSync(path.join(letters, '.DS_Store'), 'system');
    writeFileSync(path.join(letters, 'Thumbs.db'), 'system');
    writeFileSync(path.join(letters, '.notes.txt'), 'hidden');
    writeFileSync(path.join(letters, '__MACOSX', '._letter-01.txt'), 'system');

    await page.setInputFiles('[data-upload-folder-input]', letters);
    await waitForUploads(page, ['letter-01.txt', 'letter-02.txt', 'receipt-01.txt']);
    await page.waitForSelector(shown('[data-upload-note]'));
    expect(await page.textContent('[data-upload-note]')).to.equal('4 hidden or system files were skipped.');
    await page.waitForSelector('[data-docs-table][data-total="3"]', { state: 'attached' });
    expect(Object.fromEntries(await listed(page))).to.deep.equal({
      'letter-01.txt': ['Letters 1998'],
      'letter-02.txt': ['Letters 1998'],
      'receipt-01.txt': ['Letters 1998'],
    });

    // Dropped on the page from the file manager, beside a loose file: the browser hands the folder itself
    const holiday = path.join(folder, 'Holiday 2003');
    mkdirSync(path.join(holiday, 'Day 1'), { recursive: true });
    writeFileSync(path.join(holiday, 'Day 1', 'beach.txt'), 'sand');
    writeFileSync(path.join(holiday, 'postcard.txt'), 'wish you were here');
    writeFileSync(path.join(holiday, 'desktop.ini'), 'system');
    const loose = path.join(folder, 'loose-note.txt');
    writeFileSync(loose, 'not in a folder');
    const cdp = await context.newCDPSession(page);
    const data = { items: [], files: [holiday, loose], dragOperationsMask: 1 };
    for (const type of ['dragEnter', 'dragOver', 'drop'] as const) {
      await cdp.send('Input.dispatchDragEvent', { type, x: 200, y: 200, data });
    }
    await waitForUploads(page, ['beach.txt', 'postcard.txt', 'loose-note.txt']);
    expect(await page.textContent('[data-upload-note]')).to.equal('1 hidden or system file was skipped.');
    await page.waitForSelector('[data-docs-table][data-total="6"]', { state: 'attached' });
    const all = await listed(page);
    expect(all.get('beach.txt')).to.deep.equal(['Holiday 2003']);
    expect(all.get('postcard.txt')).to.deep.equal(['Holiday 2003']);
    expect(all.get('loose-note.txt')).to.deep.equal([]);
    expect([...all.keys()].filter((n) => /DS_Store|Thumbs|notes|desktop/.test(n))).to.deep.equal([]);

    // the folder's tag filters the list like any tag
    await page.click('[data-tag-filter="Letters 1998"]');
    expect([...(await listed(page)).keys()].sort()).to.deep.equal(['letter-01.txt', 'letter-02.txt', 'receipt-01.txt']);
    await page.click('[data-tag-filter=""]');
    await expectNoProblems(tab);
  });

  it('shows a drop of 30 files as one summary line, sends one request per file, and lists every document', async () => {
    const scans = path.join(folder, 'scans');
    mkdirSync(scans);
    const files = Array.from({ length: 30 }, (_, i) => {
      const file = path.join(scans, `scan-${String(i + 1).padStart(2, '0')}.txt`);
      writeFileSync(file, `page ${i + 1} `.repeat(500 + i));
      return file;
    });
    const before = Number(await page.getAttribute('[data-docs-table]', 'data-total'));
    const logLines = t.logs().split('\n').length - 1;

    await page.click('[data-uploads-clear]');
    await page.setInputFiles('[data-upload-input]', files);
    await page.waitForSelector(shown('[data-upload-summary]'));
    await page.waitForSelector('[data-upload-summary][data-upload-state="finished"]', { timeout: 120_000 });
    await page.waitForSelector(`[data-docs-table][data-total="${before + 30}"]`, { state: 'attached' });

    expect(await page.getAttribute('[data-upload-summary]', 'data-upload-done')).to.equal('30');
    expect(await page.textContent('[data-upload-summary-text]')).to.equal('30 of 30 uploaded');
    expect(await page.locator('[data-upload-summary-text]').getAttribute('aria-live')).to.equal('polite');
    // no row per file: only the failed ones would be listed, and none failed
    expect(await page.locator('[data-upload]').count()).to.equal(0);
    expect(await page.isHidden('[data-upload-pause]')).to.equal(true);
    const names = [...(await listed(page)).keys()];
    for (let i = 1; i <= 30; i++) expect(names, `scan ${i}`).to.include(`scan-${String(i).padStart(2, '0')}.txt`);

    // one request per small file: its bytes ride in the creation request, whose answer is the document
    const requests = requestsSince(t, logLines);
    const count = (method: string, re: RegExp) => requests.filter((r) => r.method === method && re.test(r.path)).length;
    expect(count('POST', /^\/api\/uploads$/), 'creation requests').to.equal(30);
    expect(count('PATCH', /^\/api\/uploads\//), 'PATCH requests').to.equal(0);
    expect(count('GET', /^\/api\/documents\/[^/]+$/), 'documents asked for again').to.equal(0);
    expect(uploadsLeft(t.dataDir)).to.deep.equal([]);

    await page.click('[data-uploads-clear]');
    await page.waitForSelector('[data-upload-summary]', { state: 'hidden' });
    await expectNoProblems(tab);
  });

  it('pauses a drop, continues it, and cancels the rest: what was uploaded stays, nothing else is kept', async () => {
    const slow = path.join(folder, 'slow');
    mkdirSync(slow);
    const files = Array.from({ length: 40 }, (_, i) => {
      const file = path.join(slow, `slow-${String(i + 1).padStart(2, '0')}.bin`);
      writeFileSync(file, Buffer.alloc(256 * 1024, i + 1));
      return file;
    });
    const before = (await client.get('/api/usage')).body as { used: number; documents: number };
    const cdp = await context.newCDPSession(page);
    // slow enough that the drop is still running when the buttons are pressed
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 512 * 1024 });
    try {
      await page.setInputFiles('[data-upload-input]', files);
      await page.waitForSelector('[data-upload-summary][data-upload-state="uploading"]');
      await page.click('[data-upload-pause]');
      await page.waitForSelector('[data-upload-summary][data-upload-state="paused"]');
      expect(await page.textContent('[data-upload-summary-text]')).to.match(/ uploaded · paused$/);
      await page.click('[data-upload-resume-all]');
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-upload-summary]')?.dataset.uploadDone) >= 2);
      await page.click('[data-upload-cancel-all]');
      await page.waitForSelector('[data-upload-summary][data-upload-state="finished"]');
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    }
    const done = Number(await page.getAttribute('[data-upload-summary]', 'data-upload-done'));
    expect(done).to.be.within(2, 39);
    expect(await page.textContent('[data-upload-summary-text]')).to.equal(`${done} of 40 uploaded · the rest was cancelled`);
    // every upload the server had begun is gone, and only the finished documents count against the quota
    const clean = await eventually(() => uploadsLeft(t.dataDir).length === 0, 10_000);
    expect(clean, `uploads folder: ${uploadsLeft(t.dataDir).join(', ')}`).to.equal(true);
    const settledUsage = await eventually(async () => {
      const now = (await client.get('/api/usage')).body as { used: number; documents: number };
      return now.documents === before.documents + done && now.used === before.used + done * blobSize(256 * 1024);
    }, 10_000);
    expect(settledUsage, 'usage counts the finished documents only').to.equal(true);
    await page.waitForSelector(`[data-docs-table][data-total="${before.documents + done}"]`, { state: 'attached' });
    await expectNoProblems(tab);
  });
});

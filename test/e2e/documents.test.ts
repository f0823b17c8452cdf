import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, readSync, writeSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Browser, BrowserContext, Download, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { download, filler } from '../helpers/documents.js';
import { leaks } from '../helpers/secrets.js';
import type { UnlockedKeys } from '../../client/crypto/index.js';
import { launch } from './browser.js';
import { expectNoProblems, logIn, openPage, personOf, shown, type Person, type WatchedPage } from './flows.js';
import {
  MiB,
  closePanel,
  downloadFromPanel,
  eventually,
  openDocuments,
  openPanel,
  openTrash,
  sha256,
  uploadRow,
  uploadsLeft,
  usage,
  usageChangesFrom,
  waitForUploads,
} from './documents-page.js';

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** The smallest PDF a viewer opens: one empty page, with a correct cross-reference table. */
function tinyPdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

describe('documents in the browser: upload, preview, download, edit, trash', function () {
  this.timeout(600_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let tab: WatchedPage;
  let page: Page;
  let client: TestClient;
  let keys: UnlockedKeys;
  let userId: string;
  let person: Person;
  let folder: string;
  /** a word that must never reach the server in the clear: in file names and in a file's content */
  const marker = `heirloom-marker-${randomBytes(6).toString('hex')}`;
  const names: string[] = [];
  const ids = new Map<string, string>();

  const write = (name: string, bytes: Uint8Array) => {
    writeFileSync(path.join(folder, name), bytes);
    names.push(name);
    return path.join(folder, name);
  };

  /** A test that failed may have left another view open. */
  const backToDocuments = async () => {
    if ((await page.locator('[data-documents][data-view="documents"]').count()) === 0) await openDocuments(page, base);
    if (await page.locator('dialog[data-doc-panel][open]').count()) await closePanel(page);
  };

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'heirloom-docs-e2e-'));
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
    const member = await newMember(t.app, t.services, 'ada', 'amber willow teapot 31');
    client = member.client;
    keys = member.account.keys;
    userId = member.client.userId;
    person = personOf(member);
    context = await browser.newContext({ acceptDownloads: true });
    tab = await openPage(context);
    page = tab.page;
    await logIn(page, person, base);
    await openDocuments(page, base);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('uploads files of 0, 1, 4 MiB − 1, 4 MiB, 4 MiB + 1, 3 × 4 MiB + 5 and 50 MiB at once and downloads each byte for byte, in the page and through the API', async () => {
    const sizes = [0, 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 3 * 4 * MiB + 5, 50 * MiB];
    const files = sizes.map((size, i) => {
      const name = `${marker}-size-${size}.bin`;
      const bytes = filler(size, i + 7);
      return { name, size, bytes, file: write(name, bytes), hash: sha256(bytes) };
    });
    const before = await usage(page);
    await page.setInputFiles('[data-upload-input]', files.map((f) => f.file));
    const done = await waitForUploads(page, files.map((f) => f.name));
    for (const [name, id] of done) ids.set(name, id);
    await page.waitForFunction((n) => Number(document.querySelector<HTMLElement>('[data-usage]')?.dataset.usageDocuments) === n, before.documents + sizes.length);

    for (const f of files) {
      const id = ids.get(f.name)!;
      expect(id, f.name).to.match(/^[0-9a-f-]{36}$/);
      await openPanel(page, id);
      expect(await page.getAttribute('dialog[data-doc-panel]', 'data-preview-kind'), f.name).to.equal('none');
      const saved = await downloadFromPanel(page);
      expect(saved.name).to.equal(f.name);
      const got = readFileSync(saved.path);
      expect(got.length, `${f.name} length`).to.equal(f.size);
      expect(sha256(got), `${f.name} SHA-256 from the page`).to.equal(f.hash);
      expect(await page.getAttribute('dialog[data-doc-panel]', 'data-doc-state')).to.equal('ready');
      await closePanel(page);

      // the Node core reads what the browser wrote
      const api = await download(client, keys, userId, id);
      expect(api.meta.name).to.equal(f.name);
      expect(api.meta.size).to.equal(f.size);
      expect(api.plaintext.length, `${f.name} length through the API`).to.equal(f.size);
      expect(sha256(api.plaintext), `${f.name} SHA-256 through the API`).to.equal(f.hash);
    }
    expect(uploadsLeft(t.dataDir), 'uploads folder after all uploads finished').to.deep.equal([]);
    await expectNoProblems(tab);
  });

  it('previews a PNG as an image, a text file as text and a PDF as a PDF', async () => {
    await backToDocuments();
    const png = write(`${marker}-photo.png`, PNG);
    const text = `Grandma's recipe book: ${marker}\nTwo cups of flour.\n`;
    const txt = write(`${marker}-recipe.txt`, Buffer.from(text));
    const pdf = write(`${marker}-will.pdf`, tinyPdf());
    const list = [png, txt, pdf].map((p) => path.basename(p));
    await page.setInputFiles('[data-upload-input]', [png, txt, pdf]);
    for (const [name, id] of await waitForUploads(page, list)) ids.set(name, id);

    await openPanel(page, ids.get(list[0])!);
    await page.waitForSelector('dialog[data-doc-panel][data-doc-state="ready"]');
    expect(await page.getAttribute('dialog[data-doc-panel]', 'data-preview-kind')).to.equal('image');
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-doc-preview-image]');
      return Boolean(img?.complete && img.naturalWidth === 1 && img.naturalHeight === 1);
    });
    await closePanel(page);

    await openPanel(page, ids.get(list[1])!);
    await page.waitForSelector('dialog[data-doc-panel][data-doc-state="ready"]');
    expect(await page.getAttribute('dialog[data-doc-panel]', 'data-preview-kind')).to.equal('text');
    await page.waitForSelector('[data-doc-preview-text]');
    expect(await page.textContent('[data-doc-preview-text]')).to.equal(text);
    expect(await page.isVisible('[data-doc-preview-text]')).to.equal(true);
    await closePanel(page);

    await openPanel(page, ids.get(list[2])!);
    await page.waitForSelector('dialog[data-doc-panel][data-doc-state="ready"]');
    expect(await page.getAttribute('dialog[data-doc-panel]', 'data-preview-kind')).to.equal('pdf');
    const frame = page.locator('iframe[data-doc-preview-pdf]');
    await frame.waitFor();
    expect(await frame.getAttribute('src')).to.match(/^blob:/);
    await closePanel(page);
    await expectNoProblems(tab);
  });

  it('renames and tags a document in the panel; the list, the search and the tag filter follow', async () => {
    await backToDocuments();
    const id = ids.get(`${marker}-recipe.txt`)!;
    const newName = `${marker}-family recipes.txt`;
    names.push(newName);
    await openPanel(page, id);
    await page.fill('[data-doc-name-input]', newName);
    await page.fill('[data-doc-tag-input]', 'kitchen');
    await page.click('[data-doc-tag-add]');
    await page.fill('[data-doc-tag-input]', 'grandma');
    await page.click('[data-doc-tag-add]');
    await page.click('[data-doc-save]');
    await page.waitForSelector(shown('[data-doc-saved]'));
    expect(await page.textContent('[data-doc-panel-name]')).to.equal(newName);
    await closePanel(page);

    const row = `tr[data-doc-row][data-doc-id="${id}"]`;
    expect(await page.textContent(`${row} [data-doc-name]`)).to.equal(newName);
    expect(await page.textContent(`${row} [data-doc-tags]`)).to.match(/kitchen/).and.match(/grandma/);

    // the server has the new name too (sealed): a reload shows it
    await openDocuments(page, base);
    expect(await page.textContent(`${row} [data-doc-name]`)).to.equal(newName);

    await page.fill('[data-docs-search]', 'family recipes');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-doc-row]').length === 1);
    expect(await page.getAttribute('tr[data-doc-row]', 'data-doc-id')).to.equal(id);
    await page.fill('[data-docs-search]', 'nothing is called like this');
    await page.waitForSelector(shown('[data-docs-nomatch]'));
    expect(await page.locator('tr[data-doc-row]').count()).to.equal(0);
    await page.fill('[data-docs-search]', '');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-doc-row]').length > 1);

    await page.click('[data-tag-filter="kitchen"]');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-doc-row]').length === 1);
    expect(await page.getAttribute('tr[data-doc-row]', 'data-doc-id')).to.equal(id);
    // the chip again: all documents
    await page.click('[data-tag-filter="kitchen"]');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-doc-row]').length > 1);

    const api = await download(client, keys, userId, id);
    expect(api.meta.name).to.equal(newName);
    expect(api.meta.tags).to.have.members(['kitchen', 'grandma']);
    await expectNoProblems(tab);
  });

  it('moves a document to the trash and back with Undo, restores it from the trash, and deletes it forever', async () => {
    await backToDocuments();
    const name = `${marker}-size-${4 * MiB + 1}.bin`;
    const id = ids.get(name)!;
    const row = `tr[data-doc-row][data-doc-id="${id}"]`;
    const start = await usage(page);

    await openPanel(page, id);
    await page.click('[data-doc-trash]');
    await page.waitForSelector(row, { state: 'detached' });
    await page.waitForSelector(shown('[data-docs-undo]'));
    await page.click('[data-docs-undo]');
    await page.waitForSelector(row);
    expect((await client.get(`/api/documents/${id}`)).body.document.deletedAt).to.equal(null);

    await openPanel(page, id);
    await page.click('[data-doc-trash]');
    await page.waitForSelector(row, { state: 'detached' });
    // the trash still counts against the space, but not as a document
    await page.waitForFunction((n) => Number(document.querySelector<HTMLElement>('[data-usage]')?.dataset.usageDocuments) === n, start.documents - 1);
    expect((await usage(page)).used).to.equal(start.used);

    await openTrash(page, base);
    const trashRow = `[data-trash-row][data-doc-id="${id}"]`;
    expect(await page.textContent(`${trashRow} [data-doc-name]`)).to.equal(name);
    await page.click(`${trashRow} [data-trash-action="restore"]`);
    await page.waitForSelector(trashRow, { state: 'detached' });
    await openDocuments(page, base);
    await page.waitForSelector(row);

    await openPanel(page, id);
    await page.click('[data-doc-trash]');
    await page.waitForSelector(row, { state: 'detached' });
    await openTrash(page, base);
    const before = await usage(page);
    await page.click(`${trashRow} [data-trash-action="delete"]`);
    await page.click('[data-confirm-ok]');
    await page.waitForSelector(trashRow, { state: 'detached' });
    const after = await usageChangesFrom(page, before.used);
    expect(after, 'usage after deleting forever').to.be.below(before.used);
    expect(before.used - after, 'freed at least the file size').to.be.at.least(4 * MiB + 1);
    expect((await usage(page)).documents, 'documents (the trash never counted)').to.equal(start.documents - 1);
    expect((await client.get(`/api/documents/${id}`)).status).to.equal(404);
    expect(() => statSync(t.services.blobs.pathOf(id)), 'blob file gone').to.throw();
    await openDocuments(page, base);
    expect(await page.locator(row).count()).to.equal(0);
    await expectNoProblems(tab);
  });

  it('refuses a document whose blob was tampered with: the damaged message and no download', async () => {
    await backToDocuments();
    const name = `${marker}-tampered.bin`;
    const file = write(name, filler(5 * MiB, 99));
    await page.setInputFiles('[data-upload-input]', file);
    const id = (await waitForUploads(page, [name])).get(name)!;
    // one flipped byte in the second chunk
    const blobPath = t.services.blobs.pathOf(id);
    const at = statSync(blobPath).size - 1000;
    const fd = openSync(blobPath, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] ^= 0x01;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);

    const downloads: Download[] = [];
    const onDownload = (d: Download) => downloads.push(d);
    page.on('download', onDownload);
    try {
      await openPanel(page, id);
      await page.click('dialog[data-doc-panel] [data-doc-download]');
      await page.waitForSelector('dialog[data-doc-panel][data-doc-state="damaged"]', { timeout: 60_000 });
      await page.waitForSelector(shown('[data-doc-error]'));
      expect(await page.textContent('[data-doc-error]')).to.equal('This document has been tampered with or damaged. Nothing was saved.');
      expect(await page.isDisabled('[data-doc-download]')).to.equal(true);
      expect(await page.getAttribute('dialog[data-doc-panel]', 'data-doc-saved')).to.equal(null);
      expect(downloads, 'downloads').to.have.length(0);
      await closePanel(page);
    } finally {
      page.off('download', onDownload);
    }
    expect(downloads, 'downloads').to.have.length(0);
    await expectNoProblems(tab);
  });

  it('cancels an upload in flight: the row says so, nothing is left in the uploads folder and the space is given back', async () => {
    await backToDocuments();
    const name = `${marker}-cancel-me.bin`;
    const file = write(name, filler(30 * MiB, 5));
    const before = await usage(page);
    const apiBefore = (await client.get('/api/usage')).body;
    // slow the upload down so that there is an upload in flight to cancel
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4 * MiB });
    try {
      await page.setInputFiles('[data-upload-input]', file);
      const row = uploadRow(name);
      await page.waitForFunction((sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.uploadSent ?? 0) > 0, row, { polling: 50 });
      expect(await page.getAttribute(row, 'data-upload-state')).to.equal('uploading');
      const id = (await page.getAttribute(row, 'data-doc-id'))!;
      await page.click(`${row} [data-upload-cancel]`);
      await page.waitForSelector(`${row}[data-upload-state="cancelled"]`);
      expect(await page.textContent(`${row} [data-upload-status]`)).to.match(/Cancelled/);
      const clean = await eventually(() => uploadsLeft(t.dataDir).length === 0, 10_000);
      expect(clean, `uploads folder: ${uploadsLeft(t.dataDir).join(', ')}`).to.equal(true);
      expect((await client.get(`/api/documents/${id}`)).status).to.equal(404);
      expect(() => statSync(t.services.blobs.pathOf(id)), 'no blob').to.throw();
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      await cdp.detach();
    }
    const apiAfter = (await client.get('/api/usage')).body;
    expect(apiAfter.used, 'usage through the API').to.equal(apiBefore.used);
    await page.waitForFunction((u) => Number(document.querySelector<HTMLElement>('[data-usage]')?.dataset.usageUsed) === u, before.used);
    expect((await usage(page)).documents).to.equal(before.documents);
    await expectNoProblems(tab);
  });

  it('resumes by itself when the connection drops in the middle of a request, and the document arrives byte for byte', async () => {
    await backToDocuments();
    const name = `${marker}-resume-me.bin`;
    const content = filler(40 * MiB, 9);
    const file = write(name, content);
    const row = uploadRow(name);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const conditions = (offline: boolean, uploadThroughput: number) =>
      cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput });
    let lostAt = 0;
    try {
      await conditions(false, 8 * MiB);
      await page.setInputFiles('[data-upload-input]', file);
      // well into the second request (each carries four 4 MiB chunks), so it is cut half-way
      await page.waitForFunction(
        ([sel, past]) => Number(document.querySelector<HTMLElement>(sel)?.dataset.uploadSent ?? 0) > past,
        [row, 20 * MiB] as const,
        { polling: 20 },
      );
      await conditions(true, 8 * MiB);
      await page.waitForFunction((sel) => /Connection lost/.test(document.querySelector(`${sel} [data-upload-status]`)?.textContent ?? ''), row);
      lostAt = Number(await page.getAttribute(row, 'data-upload-sent'));
      await conditions(false, -1);
      await page.waitForSelector(`${row}[data-upload-state="done"]`, { timeout: 120_000 });
    } finally {
      await conditions(false, -1);
      await cdp.detach();
    }
    expect(lostAt, 'bytes sent when the connection dropped').to.be.above(16 * MiB).and.below(content.length);
    const id = (await page.getAttribute(row, 'data-doc-id'))!;
    const api = await download(client, keys, userId, id);
    expect(api.plaintext.length).to.equal(content.length);
    expect(sha256(api.plaintext)).to.equal(sha256(content));
    expect(uploadsLeft(t.dataDir), 'uploads folder').to.deep.equal([]);
    await expectNoProblems(tab);
  });

  it('never writes a file name or a marker from a file\'s content to the data folder or the log', async () => {
    expect(t.logs(), 'the log has content').to.contain('/api/uploads');
    expect(names.length).to.be.at.least(10);
    expect(leaks([t.logFile, t.dataDir], { text: [marker, ...names] })).to.deep.equal([]);
    await expectNoProblems(tab);
  });
});

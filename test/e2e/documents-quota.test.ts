import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { filler } from '../helpers/documents.js';
import { leaks } from '../helpers/secrets.js';
import { launch } from './browser.js';
import { expectNoProblems, logIn, openPage, personOf, shown, type WatchedPage } from './flows.js';
import { MiB, eventually, openDocuments, uploadRow, uploadsLeft, usage } from './documents-page.js';

describe('documents in the browser: a family member over quota', function () {
  this.timeout(300_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let tab: WatchedPage;
  let page: Page;
  let client: TestClient;
  let folder: string;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'heirloom-quota-e2e-'));
    t = await startTestServer({ env: { HEIRLOOM_DEFAULT_QUOTA_MIB: '1' } });
    base = await t.listen();
    browser = await launch();
    const member = await newMember(t.app, t.services, 'otto', 'pebble harbour violin 62');
    client = member.client;
    const person = personOf(member);
    tab = await openPage(await browser.newContext());
    page = tab.page;
    await logIn(page, person, base);
    await openDocuments(page, base);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('refuses a 2 MiB file with the server\'s sentence and keeps nothing of it', async () => {
    const name = 'quota-marker-too-big-for-otto.bin';
    const file = path.join(folder, name);
    writeFileSync(file, filler(2 * MiB, 3));
    const before = await usage(page);
    expect(before.quota).to.equal(1 * MiB);

    await page.setInputFiles('[data-upload-input]', file);
    const row = uploadRow(name);
    await page.waitForSelector(`${row}[data-upload-state="failed"]`, { timeout: 60_000 });
    const status = (await page.textContent(`${row} [data-upload-status]`)) ?? '';
    expect(status).to.match(/^This file does not fit: it needs 2\.0 MiB and you have 1\.0 MiB left of 1\.0 MiB\. Empty the trash or ask your family’s admin for more space\.$/);
    await page.waitForSelector(shown('[data-docs-alert]'));
    expect(await page.textContent('[data-docs-alert]')).to.equal(`${name}: ${status}`);

    const clean = await eventually(() => uploadsLeft(t.dataDir).length === 0, 5_000);
    expect(clean, `uploads folder: ${uploadsLeft(t.dataDir).join(', ')}`).to.equal(true);
    const id = (await page.getAttribute(row, 'data-doc-id'))!;
    expect((await client.get(`/api/documents/${id}`)).status).to.equal(404);
    const after = (await client.get('/api/usage')).body;
    expect(after.used).to.equal(0);
    expect(after.documents).to.equal(0);
    expect(await page.locator('tr[data-doc-row]').count()).to.equal(0);
    expect(leaks([t.logFile, t.dataDir], { text: [name] })).to.deep.equal([]);
    await expectNoProblems(tab);
  });

  it('refuses a drop of files that do not fit together before sending any of them, and says how much they need', async () => {
    // each fits on its own; the three together do not
    const files = [1, 2, 3].map((i) => {
      const file = path.join(folder, `quota-drop-${i}.bin`);
      writeFileSync(file, filler(400 * 1024, i));
      return file;
    });
    const logLines = t.logs().split('\n').length - 1;
    const before = (await client.get('/api/usage')).body;

    await page.setInputFiles('[data-upload-input]', files);
    await page.waitForSelector(shown('[data-docs-alert]'));
    await page.waitForFunction(() => /These 3 files/.test(document.querySelector('[data-docs-alert]')?.textContent ?? ''));
    expect(await page.textContent('[data-docs-alert]')).to.equal(
      'These 3 files need 1.2 MB; you have 1 MB left. Nothing was uploaded. Empty the trash, choose fewer files, or ask your family’s admin for more space.',
    );
    expect(await page.locator('[data-upload][data-upload-name^="quota-drop"]').count(), 'upload rows').to.equal(0);
    const sent = t
      .logs()
      .split('\n')
      .slice(logLines)
      .filter((l) => l.includes('/api/uploads'));
    expect(sent, 'requests to /api/uploads').to.deep.equal([]);
    expect((await client.get('/api/usage')).body).to.deep.equal(before);
    expect(uploadsLeft(t.dataDir)).to.deep.equal([]);
    await expectNoProblems(tab);
  });
});

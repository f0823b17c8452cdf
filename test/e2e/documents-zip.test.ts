import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { expect } from 'chai';
import type { Browser, Download, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { upload } from '../helpers/documents.js';
import { encryptBlob, newDocKey, sealDocMeta, toB64, wrapDocKeyForOwner, type UnlockedKeys } from '../../client/crypto/index.js';
import { launch } from './browser.js';
import { expectNoProblems, logIn, openPage, personOf, shown, type WatchedPage } from './flows.js';
import { MiB, openDocuments, sha256 } from './documents-page.js';

interface ZipEntry {
  name: string;
  bytes: Buffer;
  /** from the entry's MS-DOS date and time (local time, two-second steps) */
  modified: Date;
}

/**
 * Reads a ZIP of stored (uncompressed) entries through its central directory, checking each entry's CRC:
 * what an unzip program does, small enough to trust.
 */
function readZip(zip: Buffer): ZipEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(eocd, 'end of central directory').to.be.greaterThan(-1);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at), 'central directory entry').to.equal(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    const time = zip.readUInt16LE(at + 12);
    const date = zip.readUInt16LE(at + 14);
    const crc = zip.readUInt32LE(at + 16);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    expect(method, `${name}: stored`).to.equal(0);
    expect(zip.readUInt32LE(local), `${name}: local header`).to.equal(0x04034b50);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const bytes = zip.subarray(start, start + size);
    expect(crc32(bytes), `${name}: CRC`).to.equal(crc);
    const modified = new Date(1980 + (date >> 9), ((date >> 5) & 15) - 1, date & 31, time >> 11, (time >> 5) & 63, (time & 31) * 2);
    entries.push({ name, bytes, modified });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

describe('documents in the browser: several selected documents as one ZIP', function () {
  this.timeout(300_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let tab: WatchedPage;
  let page: Page;
  let client: TestClient;
  let keys: UnlockedKeys;

  /** A document made as the page makes one (crypto core), uploaded through the API. */
  const add = async (name: string, plaintext: Uint8Array, modified: number) => {
    const id = randomUUID();
    const docKey = newDocKey();
    const meta = { name, type: 'application/octet-stream', size: plaintext.length, modified, tags: [] };
    const doc = {
      id,
      docKey,
      plaintext,
      name,
      blob: encryptBlob(docKey, id, plaintext),
      meta: toB64(sealDocMeta(docKey, id, meta)),
      keyWrap: toB64(wrapDocKeyForOwner(keys.accountKey, docKey, id, client.userId)),
    };
    const res = await upload(client, doc);
    expect(res.status, `upload of ${name}`).to.equal(204);
    return { id, name, plaintext, modified };
  };

  const tick = (id: string) => page.check(`tr[data-doc-row][data-doc-id="${id}"] [data-doc-select]`);

  before(async () => {
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
    const member = await newMember(t.app, t.services, 'ada', 'amber willow teapot 31');
    client = member.client;
    keys = member.account.keys;
    const context = await browser.newContext({ acceptDownloads: true });
    tab = await openPage(context);
    page = tab.page;
    await logIn(page, personOf(member), base);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('downloads the ticked documents as one ZIP: each entry has its document’s bytes and date, names made safe and distinct', async () => {
    const may = new Date(2021, 4, 17, 10, 30, 24).getTime();
    const docs = [
      // two chunks and a bit, so an entry is written from several decrypted chunks
      await add('letter.pdf', randomBytes(4 * MiB + 5), may),
      await add('letter.pdf', randomBytes(1000), may + 60_000),
      await add('LETTER.pdf', new Uint8Array(0), may + 120_000),
      await add('../../etc/passwd', randomBytes(10), may),
      await add('report\u0000\t2024\u202e.pdf', randomBytes(10), may),
      await add('..', randomBytes(10), may),
    ];
    const notTicked = await add('not-ticked.txt', randomBytes(10), may);
    await openDocuments(page, base);

    // "select all shown" after a search ticks the three letters; the others one by one, by their labels
    await page.fill('[data-docs-search]', 'letter');
    await page.waitForSelector('[data-docs-table][data-matching="3"]');
    await page.check('[data-docs-select-all]');
    await page.fill('[data-docs-search]', '');
    await page.waitForSelector('[data-docs-table][data-matching="7"]');
    await page.getByRole('checkbox', { name: 'Select ../../etc/passwd' }).check();
    for (const d of docs.slice(4)) await tick(d.id);
    expect(await page.isChecked('[data-docs-select-all]')).to.equal(false);
    await page.waitForSelector(shown('[data-docs-selection]'));
    expect(await page.textContent('[data-docs-selection-count]')).to.match(/^6 documents selected · /);
    expect(await page.getAttribute('[data-docs-selection-count]', 'aria-live')).to.equal('polite');

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.click('[data-docs-zip]')]);
    expect(download.suggestedFilename()).to.match(/^Heirloom documents \d{4}-\d\d-\d\d\.zip$/);
    const entries = readZip(readFileSync(await (download as Download).path()));

    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(entries.map((e) => e.name.toLowerCase()).sort()).to.deep.equal(
      ['document', 'etc_passwd', 'letter (2).pdf', 'letter (3).pdf', 'letter.pdf', 'report 2024.pdf'],
    );
    expect(byName.get('etc_passwd')?.bytes.equals(docs[3]!.plaintext)).to.equal(true);
    expect(byName.get('report 2024.pdf')?.bytes.equals(docs[4]!.plaintext)).to.equal(true);
    expect(byName.get('document')?.bytes.equals(docs[5]!.plaintext)).to.equal(true);
    // which of the three letters got "(2)" follows the list's order; each one's bytes are there once
    const letters = entries.filter((e) => /^letter( \(\d\))?\.pdf$/i.test(e.name));
    expect(letters.map((e) => sha256(e.bytes)).sort()).to.deep.equal(docs.slice(0, 3).map((d) => sha256(d.plaintext)).sort());
    for (const e of entries) {
      const doc = docs.find((d) => sha256(d.plaintext) === sha256(e.bytes));
      expect(Math.abs(e.modified.getTime() - (doc?.modified ?? 0)), `${e.name}: date`).to.be.lessThan(2000);
    }
    expect(entries.some((e) => e.bytes.equals(notTicked.plaintext))).to.equal(false);
    // done: the ticks are cleared and the bar goes away
    await page.waitForSelector('[data-docs-selection]', { state: 'hidden' });
    expect(await page.isChecked(`tr[data-doc-row][data-doc-id="${docs[0]!.id}"] [data-doc-select]`)).to.equal(false);
    await expectNoProblems(tab);
  });

  it('stops the ZIP at a damaged document, names it, and offers nothing', async () => {
    const good = await add('good.txt', randomBytes(1000), Date.now());
    const bad = await add('tampered.pdf', randomBytes(4 * MiB + 100), Date.now());
    // one flipped byte in the second chunk
    const blobPath = t.services.blobs.pathOf(bad.id);
    const at = statSync(blobPath).size - 50;
    const fd = openSync(blobPath, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0]! ^= 0x01;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
    await openDocuments(page, base);

    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await tick(good.id);
    await tick(bad.id);
    await page.click('[data-docs-zip]');
    await page.waitForSelector('[data-docs-selection][data-zip-state="damaged"]', { timeout: 60_000 });
    expect(await page.textContent('[data-docs-zip-error]')).to.equal(
      '“tampered.pdf” has been tampered with or damaged, so the ZIP was stopped. Nothing was saved.',
    );
    expect(await page.isHidden('[data-docs-zip-progress]')).to.equal(true);
    expect(downloads).to.have.length(0);
    await expectNoProblems(tab);
  });
});

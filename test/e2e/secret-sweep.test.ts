import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { leaks } from '../helpers/secrets.js';
import { TotpCodes } from '../helpers/totp.js';
import { derivePasswordKeys, deriveRecoveryKeys, fromB64, ready, wordsToRecoveryKey, type KdfParams } from '../../client/crypto/index.js';
import { launch } from './browser.js';
import { DERIVE_MS, expectNoProblems, expectUnlocked, logIn, openPage, registerUpToCode, shown, storedKeys, totpSecret, type WatchedPage } from './flows.js';
import { openDocuments, openPanel, closePanel, waitForUploads } from './documents-page.js';

/** RFC 4648 base32 (what authenticator apps are given) back to the secret's bytes. */
function base32Bytes(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The ways bytes are usually written down by a server or a library: base64, base64url, hex. */
function spellings(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes);
  const hex = b.toString('hex');
  return [b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), hex, hex.toUpperCase()];
}

/**
 * One person's whole life in the pages, as a person would live it (issue 8: the secret-marker guard): register
 * with a known password, read the recovery words and the authenticator key off the page, log in with codes,
 * upload a document whose name and content are markers, rename it, change the password, log in with the new
 * one. Then every file under the data folder (database, WAL, blobs, uploads) and everything the server logged
 * is searched for every secret, as text and, for bytes, as base64, base64url and hex.
 */
describe('secrets never reach the server’s disk or logs after a browser session', function () {
  this.timeout(300_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let tab: WatchedPage;
  let page: Page;
  let folder: string;

  const tag = randomBytes(6).toString('hex');
  const username = `sweep${tag.slice(0, 6)}`;
  const firstPassword = `Sweep-${tag}-Lantern-Orchard-47`;
  const secondPassword = `Sweep-${tag}-Copper-Willow-19`;
  const docName = `sweepname-${tag}.txt`;
  const newDocName = `sweeprenamed-${tag}.txt`;
  const content = `sweepcontent-${tag} `.repeat(200);

  /** text that must never be found, with what it is (for the failure message) */
  const text = new Map<string, string>();
  /** bytes that must never be found, in any of their spellings */
  const bytes = new Map<string, Uint8Array>();
  let codes: TotpCodes;
  let words: string[] = [];

  before(async () => {
    await ready();
    folder = mkdtempSync(path.join(tmpdir(), 'heirloom-sweep-'));
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
    context = await browser.newContext();
    tab = await openPage(context);
    page = tab.page;
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  const userRow = () => t.db('users').where({ username }).first();
  const kdfOf = (row: { kdf_alg: string; kdf_ops: number; kdf_mem: number; kdf_salt: string }): KdfParams => ({
    alg: row.kdf_alg as KdfParams['alg'],
    ops: Number(row.kdf_ops),
    mem: Number(row.kdf_mem),
    salt: row.kdf_salt,
  });

  /** The password and what the device derives from it: the authKey it sends, the key it keeps. */
  const rememberPassword = async (password: string, label: string) => {
    text.set(password, label);
    const login = derivePasswordKeys(password, kdfOf(await userRow()));
    bytes.set(`${label}: authKey`, login.authKey);
    bytes.set(`${label}: passwordKek`, login.passwordKek);
  };

  /** The unlocked keys the tab holds (sessionStorage): never meant for the server. */
  const rememberTabKeys = async () => {
    const stored = JSON.parse((await storedKeys(page)) ?? '{}') as Record<string, string>;
    for (const name of ['accountKey', 'boxSk', 'signSk']) {
      expect(stored[name], name).to.be.a('string');
      bytes.set(`tab key ${name}`, fromB64(stored[name] ?? ''));
    }
  };

  it('registers in the pages, seeing the recovery words and the authenticator labelled with the username', async () => {
    const { url } = await t.services.registration.createInvitation({ isAdmin: false });
    await page.goto(url);
    words = await registerUpToCode(page, username, firstPassword);
    expect(words).to.have.length(24);
    // issue 8 item 14: the entry in the app carries the person's username
    expect(await page.textContent('[data-totp-label]')).to.contain(`: ${username}”`);
    const secret = await totpSecret(page);
    codes = new TotpCodes(secret);
    await page.fill('#reg-totp-code', await codes.next());
    await page.click('[data-reg-finish]');
    await page.waitForURL((u) => u.pathname === '/');
    await expectUnlocked(page);
    await expectNoProblems(tab);

    text.set(secret, 'TOTP secret (base32)');
    bytes.set('TOTP secret', base32Bytes(secret));
    const phrase = (sep: string) => words.join(sep);
    text.set(phrase(' '), 'recovery words');
    text.set(phrase('%20'), 'recovery words (URL-encoded)');
    text.set(phrase('+'), 'recovery words (form-encoded)');
    for (let i = 0; i + 3 <= words.length; i += 3) text.set(words.slice(i, i + 3).join(' '), `recovery words ${i + 1}–${i + 3}`);
    const recoveryKey = wordsToRecoveryKey(phrase(' '));
    const recovery = deriveRecoveryKeys(recoveryKey);
    bytes.set('recovery key', recoveryKey);
    bytes.set('recovery wrap key', recovery.recoveryWrapKey);
    bytes.set('recovery auth private key', recovery.recoveryAuthKeyPair.privateKey);
    await rememberPassword(firstPassword, 'first password');
    await rememberTabKeys();
  });

  it('uploads a document whose name and content are markers, and renames it', async () => {
    text.set(docName, 'document name');
    text.set(newDocName, 'new document name');
    text.set(`sweepcontent-${tag}`, 'document content');
    const file = path.join(folder, docName);
    writeFileSync(file, content);
    await openDocuments(page, base);
    await page.setInputFiles('[data-upload-input]', file);
    const id = (await waitForUploads(page, [docName])).get(docName) ?? '';
    await page.waitForSelector(`tr[data-doc-row][data-doc-id="${id}"]`);
    await openPanel(page, id);
    await page.fill('[data-doc-name-input]', newDocName);
    await page.click('[data-doc-save]');
    await page.waitForSelector(shown('[data-doc-saved]'));
    await closePanel(page);
    await openDocuments(page, base);
    expect(await page.textContent(`tr[data-doc-row][data-doc-id="${id}"] [data-doc-name]`)).to.equal(newDocName);
    await expectNoProblems(tab);
  });

  it('logs out and in again with the password and a code', async () => {
    await page.click('[data-action="logout"]');
    await page.waitForURL((u) => u.pathname === '/login');
    await logIn(page, { username, password: firstPassword, codes }, base);
    await expectNoProblems(tab);
  });

  it('changes the password in settings and logs in with the new one', async () => {
    await page.goto(`${base}/settings`);
    await expectUnlocked(page);
    await page.fill('#current-password', firstPassword);
    await page.fill('#new-password', secondPassword);
    await page.fill('#new-password-confirm', secondPassword);
    await page.click('[data-password-submit]');
    await page.waitForSelector(shown('[data-password-success]'), { timeout: 2 * DERIVE_MS });
    await rememberPassword(secondPassword, 'second password');
    await page.click('[data-action="logout"]');
    await page.waitForURL((u) => u.pathname === '/login');
    await logIn(page, { username, password: secondPassword, codes }, base);
    await rememberTabKeys();
    await expectNoProblems(tab);
  });

  /** Every secret found in the data folder or the log, as "what (spelling) in file" lines. */
  function sweep(): string[] {
    const needles = new Map<string, string>(text);
    for (const [label, value] of bytes) for (const s of spellings(value)) needles.set(s, label);
    const found = leaks([t.logFile, t.dataDir], { text: [...needles.keys()], codes: codes.typed });
    return found.map((line) => {
      const needle = [...needles.keys()].find((n) => line.startsWith(`"${n}" in `));
      return needle ? `${needles.get(needle)}: ${line}` : line;
    });
  }

  it('finds none of the passwords, keys, words, TOTP secret or codes, or the document’s name and content in the data folder or the log', async () => {
    // the sweep is only worth something if everything happened and there is something to search
    expect(codes.typed.length, 'codes typed').to.be.at.least(3);
    expect(text.size).to.be.at.least(10);
    expect(bytes.size).to.be.at.least(10);
    expect(t.logs(), 'the log saw the whole session').to.contain('/api/register/finish').and.contain('/api/uploads').and.contain('/api/auth/totp');
    expect(sweep()).to.deep.equal([]);
  });

  it('would notice a secret in the log, in the database or in any file of the data folder', async () => {
    const authKey = bytes.get('second password: authKey');
    const recoveryKey = bytes.get('recovery key');
    expect(authKey).to.not.equal(undefined);
    expect(recoveryKey).to.not.equal(undefined);
    appendFileSync(t.logFile, `${JSON.stringify({ level: 30, msg: 'planted', password: secondPassword })}\n`);
    await t.db.schema.createTable('sweep_plant', (table) => table.text('value'));
    await t.db('sweep_plant').insert({ value: Buffer.from(authKey ?? []).toString('base64url') });
    writeFileSync(path.join(t.dataDir, 'planted'), `${Buffer.from(recoveryKey ?? []).toString('hex')}\ncode ${codes.typed[0]}\n`);
    const found = sweep();
    expect(found.some((l) => l.startsWith('second password:') && l.includes(t.logFile)), found.join('\n')).to.equal(true);
    expect(found.some((l) => l.startsWith('second password: authKey') && l.includes('heirloom.sqlite')), found.join('\n')).to.equal(true);
    expect(found.some((l) => l.startsWith('recovery key:') && l.endsWith('planted')), found.join('\n')).to.equal(true);
    expect(found.some((l) => l.startsWith(`code ${codes.typed[0]} in`) && l.endsWith('planted')), found.join('\n')).to.equal(true);
  });
});

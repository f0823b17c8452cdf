import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fingerprint, sealPins, toB64 } from '../../client/crypto/index.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { filler } from '../helpers/documents.js';
import { addMember, asPerson, spaceKeys, uploadIntoSpace } from '../helpers/sharing.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { launch, reviewShot } from './browser.js';
import { DERIVE_MS, expectNoProblems, logIn, openPage, personOf, shown, type WatchedPage } from './flows.js';

type Member = Awaited<ReturnType<typeof newMember>>;

/** A name with nothing in it the database could hold by chance: the test looks for it in the file. */
const NAME = 'Taxes of the Hollis family 2026';

/** The rows of /spaces, as [space ID, the name the page opened]. */
async function spaceRows(page: Page): Promise<[string, string][]> {
  await page.waitForSelector('[data-spaces-opening]', { state: 'hidden' });
  return page.$$eval('[data-space-row]', (rows) =>
    rows.map((r) => [r.getAttribute('data-space-row') ?? '', r.querySelector('[data-space-name]')?.textContent?.trim() ?? '']),
  );
}

/** The space page, once its key is open (the busy line goes away and the heading shows the name). */
async function openSpace(page: Page, base: string, spaceId: string): Promise<void> {
  await page.goto(`${base}/spaces/${spaceId}`);
  await page.waitForSelector('[data-space-opening]', { state: 'hidden', timeout: DERIVE_MS });
}

/** Waits until the page's result line (role=status) says `text`; it is written once the change is done. */
async function resultSays(page: Page, text: string): Promise<void> {
  await page.waitForFunction((t) => document.querySelector('[data-space-result]')?.textContent?.includes(t) === true, text);
}

const memberIds = (page: Page) => page.$$eval('[data-member-id]', (els) => els.map((e) => e.getAttribute('data-member-id')));

/** Ann compared Ben's words and marked him verified (her pins, sealed with her account key, as the Family page saves them). */
async function annVerifiedBen(ann: Member, ben: Member): Promise<void> {
  const now = Date.now();
  const fp = fingerprint(ben.account.keys.signPk, ben.account.keys.boxPk).hex;
  const pins = { v: 1 as const, users: { [ben.client.userId]: { fp, verified: true, seen: now, verifiedAt: now } }, spaces: {} };
  const res = await ann.client.agent
    .put('/api/pins')
    .set('X-CSRF-Token', ann.client.csrf)
    .set('Accept', 'application/json')
    .send({ pins: toB64(sealPins(ann.account.keys.accountKey, ann.client.userId, pins)), version: 0 });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
}

const statusOf = async (c: TestClient, url: string) => (await c.get(url)).status;

// Ann, Ben and Cat each in their own browser profile; the tests follow on from each other.
describe('spaces in the browser: a family shares a folder, and one person is removed', function () {
  this.timeout(240_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let ann: Member;
  let ben: Member;
  let cat: Member;
  const contexts: BrowserContext[] = [];
  let annTab: WatchedPage;
  let benTab: WatchedPage;
  let catTab: WatchedPage;
  let spaceId = '';

  before(async () => {
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
    ann = await newMember(base, t.services, 'ann');
    ben = await newMember(base, t.services, 'ben');
    cat = await newMember(base, t.services, 'cat');
    await newMember(base, t.services, 'dan');
    await t.services.admin.disable('dan');
    await annVerifiedBen(ann, ben);
    const tabs: WatchedPage[] = [];
    for (const who of [ann, ben, cat]) {
      const context = await browser.newContext();
      contexts.push(context);
      const tab = await openPage(context);
      await logIn(tab.page, personOf(who), base);
      tabs.push(tab);
    }
    [annTab, benTab, catTab] = tabs as [WatchedPage, WatchedPage, WatchedPage];
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lets Ann create a space and add Ben and Cat from the family, and both of them see it by its name', async () => {
    const page = annTab.page;
    await page.goto(`${base}/spaces`);
    await page.waitForSelector('[data-spaces-empty]');
    await page.fill('[data-space-create-name]', `  ${NAME}  `);
    await page.click('[data-space-create-submit]');
    await page.waitForURL((u) => /^\/spaces\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: DERIVE_MS });
    spaceId = new URL(page.url()).pathname.split('/')[2] ?? '';
    await page.waitForSelector('[data-space-opening]', { state: 'hidden' });
    expect(await page.textContent('[data-space-title]')).to.equal(NAME);
    await resultSays(page, 'is ready. Now add the people');
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal('space-add-title');
    expect(await page.getAttribute('[data-space-open]', 'href')).to.equal(`/documents?space=${spaceId}`);

    // the picker: everyone but Ann, each with how far their key can be trusted
    await page.waitForSelector('[data-picker-person]');
    const states = await page.$$eval('[data-picker-person]', (rows) =>
      rows.map((r) => ({
        name: r.querySelector('.row__title')?.textContent,
        state: r.getAttribute('data-picker-state'),
        disabled: (r.querySelector('input') as HTMLInputElement).disabled,
        text: r.textContent?.replace(/\s+/g, ' ').trim(),
      })),
    );
    expect(states.map((s) => [s.name, s.state, s.disabled])).to.deep.equal([
      ['ben', 'verified', false],
      ['cat', 'seen', false],
      ['dan', 'disabled', true],
    ]);
    expect(states[0]?.text).to.contain('Verified');
    expect(states[1]?.text).to.contain('You have not compared cat’s words yet');
    expect(states[2]?.text).to.contain('dan’s account is disabled, so they cannot be added.');

    await reviewShot(page, 'spaces-picker', true);
    await page.check(`#space-add-${ben.client.userId}`);
    await page.check(`#space-add-${cat.client.userId}`);
    await page.click('[data-space-add-submit]');
    await page.waitForSelector(`[data-member-id="${cat.client.userId}"]`);
    await resultSays(page, 'ben and cat can now see and open every document in this space.');
    expect(await memberIds(page)).to.have.members([ann.client.userId, ben.client.userId, cat.client.userId]);
    // only Dan is left to pick, and he cannot be
    expect(await page.$$eval('[data-picker-person]', (rows) => rows.map((r) => r.querySelector('.row__title')?.textContent))).to.deep.equal(['dan']);
    await expectNoProblems(annTab);

    for (const tab of [benTab, catTab]) {
      await tab.page.goto(`${base}/spaces`);
      expect(await spaceRows(tab.page)).to.deep.equal([[spaceId, NAME]]);
      await expectNoProblems(tab);
    }
    await reviewShot(benTab.page, 'spaces-list', true);

    // the name never reached the server in the clear: not in the database (nor its journal), nor in the log
    const file = path.join(t.dataDir, 'heirloom.sqlite');
    for (const f of [file, `${file}-wal`].filter((f) => existsSync(f))) {
      expect(readFileSync(f).includes(Buffer.from(NAME)), `${path.basename(f)} holds the name`).to.equal(false);
    }
    expect(t.logs()).to.not.contain(NAME);
  });

  it('removes Cat with a new key: the page says what Cat may still have, Cat’s access ends at once, and Ben’s goes on', async () => {
    // Ben puts a document into the space, as the documents page does (his wrap, and one under the space key)
    const benPerson = asPerson(ben.client, ben.account.keys, ben.username);
    const upload = await uploadIntoSpace(benPerson, spaceId, filler(3000));
    expect(upload.res.status, JSON.stringify(upload.res.body)).to.equal(201);
    const docId = upload.doc.id;
    expect(await statusOf(cat.client, `/api/documents/${docId}`), 'Cat reads it while a member').to.equal(200);

    const page = annTab.page;
    await openSpace(page, base, spaceId);
    // what a removed person keeps is on the page before anything is done
    expect(await page.textContent('[data-space-removal-facts]')).to.contain('with an old copy of those files they could read them');
    await page.click(`[data-space-remove="${cat.client.userId}"]`);
    await page.waitForSelector('[data-confirm-dialog][open]');
    const question = (await page.textContent('[data-confirm-dialog]')) ?? '';
    expect(question).to.contain('Remove cat from this space?');
    expect(question).to.contain('anything they downloaded or opened');
    expect(question).to.contain('a new key that they never get');
    await reviewShot(page, 'spaces-remove-dialog');
    await page.click('[data-confirm-ok]');

    await page.waitForSelector(`[data-member-id="${cat.client.userId}"]`, { state: 'detached' });
    await resultSays(page, 'cat was removed from this space');
    const after = (await page.textContent('[data-space-result]')) ?? '';
    expect(after).to.contain('cat was removed from this space, and their access through Heirloom has ended.');
    expect(after).to.contain('with an old copy of those files they could still read them');
    expect(await page.evaluate(() => document.activeElement?.hasAttribute('data-space-result'))).to.equal(true);
    expect(await page.getAttribute('[data-space-members]', 'data-space-generation')).to.equal('2');
    expect(await page.isVisible('[data-space-key-note]')).to.equal(true);
    await reviewShot(page, 'spaces-space', true);
    await expectNoProblems(annTab);

    // Cat: at once, nothing: not in the list, not through the API
    await catTab.page.goto(`${base}/spaces`);
    await catTab.page.waitForSelector('[data-spaces-empty]');
    expect(await statusOf(cat.client, `/api/documents/${docId}`)).to.equal(404);
    expect(await statusOf(cat.client, `/api/documents/${docId}/blob`)).to.equal(404);
    expect(await statusOf(cat.client, `/api/spaces/${spaceId}`)).to.equal(404);
    await expectNoProblems(catTab);

    // the space is at generation 2, its name sealed under the new key, and Ben (who got that key) still opens it
    const { body } = await ann.client.get(`/api/spaces/${spaceId}`);
    expect(body.space.generation).to.equal(2);
    expect(body.space.nameGeneration).to.equal(2);
    // a new key, not the old one under a new number: Ben holds both, signed by Ann, and they differ
    const [first, second] = await spaceKeys(benPerson, spaceId);
    expect(first).to.have.length(32);
    expect(second).to.have.length(32);
    expect(Buffer.from(second ?? []).equals(Buffer.from(first ?? [])), 'generation 2 is a new key').to.equal(false);
    await openSpace(benTab.page, base, spaceId);
    expect(await benTab.page.textContent('[data-space-title]')).to.equal(NAME);
    expect(await memberIds(benTab.page)).to.have.members([ann.client.userId, ben.client.userId]);
    // Ben is a member, not a manager: he sees no buttons to change the space
    expect(await benTab.page.$('[data-space-remove], [data-space-rename-form]')).to.equal(null);
    expect(await statusOf(ben.client, `/api/documents/${docId}`)).to.equal(200);
    await expectNoProblems(benTab);
  });

  it('lets Ann make Ben a manager, and Ben then renames the space under its new key', async () => {
    const page = annTab.page;
    await page.click(`[data-space-promote="${ben.client.userId}"]`);
    await page.waitForSelector('[data-confirm-dialog][open]');
    expect(await page.textContent('[data-confirm-dialog]')).to.contain('ben will be able to rename this space and add or remove people, you included.');
    await page.click('[data-confirm-ok]');
    await page.waitForSelector(`[data-member-id="${ben.client.userId}"][data-member-role="manager"]`);
    await resultSays(page, 'ben is now a manager of this space.');
    await expectNoProblems(annTab);

    const renamed = 'Taxes and pensions';
    await openSpace(benTab.page, base, spaceId);
    await benTab.page.fill('[data-space-name-input]', renamed);
    await benTab.page.click('[data-space-rename-submit]');
    await benTab.page.waitForFunction((name) => document.querySelector('[data-space-title]')?.textContent === name, renamed);
    await resultSays(benTab.page, `This space is now called “${renamed}”.`);
    await expectNoProblems(benTab);

    await page.goto(`${base}/spaces`);
    expect(await spaceRows(page)).to.deep.equal([[spaceId, renamed]]);
    await expectNoProblems(annTab);
  });

  it('still removes someone when another member’s account was disabled: the disabled member keeps their place and gets the new key', async () => {
    await addMember(asPerson(ann.client, ann.account.keys, ann.username), spaceId, asPerson(cat.client, cat.account.keys, cat.username));
    await t.services.admin.disable('ben');
    const page = annTab.page;
    await openSpace(page, base, spaceId);
    await page.click(`[data-space-remove="${cat.client.userId}"]`);
    await page.click('[data-confirm-ok]');
    await resultSays(page, 'cat was removed from this space');
    expect(await memberIds(page)).to.have.members([ann.client.userId, ben.client.userId]);
    const rows = await t.db('space_keys').where({ space_id: spaceId, generation: 3 }).select('member_id');
    expect(rows.map((r: { member_id: string }) => r.member_id)).to.have.members([ann.client.userId, ben.client.userId]);
    await expectNoProblems(annTab);
  });

  it('warns and allows no change when the server shows the space at an older key than Ann’s browser has seen', async () => {
    // a server under an attacker's control goes back to generation 1, a key Cat still holds
    await t.db('spaces').where({ id: spaceId }).update({ generation: 1 });
    const page = annTab.page;
    await openSpace(page, base, spaceId);
    await page.waitForSelector(shown('[data-space-alert]'));
    expect(await page.textContent('[data-space-alert]')).to.contain('older key for this space (generation 1) than this browser has already seen (generation 3)');
    expect(await page.isHidden('[data-space-add]'), 'no adding').to.equal(true);
    expect(await page.isHidden('[data-space-rename]'), 'no renaming').to.equal(true);
    expect(await page.$$eval('[data-space-remove], [data-space-promote]', (els) => els.every((b) => (b as HTMLButtonElement).disabled))).to.equal(true);
    await reviewShot(page, 'spaces-stale', true);
    await page.goto(`${base}/spaces`);
    await page.waitForSelector(shown(`[data-space-row="${spaceId}"] [data-space-warning]`));
    expect(await page.textContent(`[data-space-row="${spaceId}"] [data-space-warning]`)).to.contain('older key for this space');
    await expectNoProblems(annTab);
  });
});

import { expect } from 'chai';
import type { Browser, BrowserContext } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import {
  fingerprint,
  fromB64,
  getSodium,
  openPins,
  ready,
  sealPins,
  signSelf,
  toB64,
  type UnlockedKeys,
} from '../../client/crypto/index.js';
import { launch, reviewShot } from './browser.js';
import { DERIVE_MS, expectNoProblems, expectUnlocked, logIn, openPage, personOf, shown, type Person, type WatchedPage } from './flows.js';

interface Account {
  userId: string;
  username: string;
  keys: UnlockedKeys;
}

const row = (userId: string) => `[data-member][data-member-id="${userId}"]`;
const rowIn = (userId: string, state: string) => `${row(userId)}[data-state="${state}"]`;

describe('the Family page in the browser: fingerprints, verifying, and a key the server changed', function () {
  this.timeout(180_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let tab: WatchedPage;
  let alice: Account & { person: Person; password: string; client: TestClient };
  let bob: Account;
  let carol: Account;
  let dave: Account;

  before(async () => {
    await ready();
    t = await startTestServer();
    base = await t.listen();
    const make = async (name: string) => {
      const m = await newMember(t.app, t.services, name);
      return { userId: m.client.userId, username: name, keys: m.account.keys, person: personOf(m), password: m.password, client: m.client };
    };
    alice = await make('alice');
    bob = await make('bob');
    carol = await make('carol');
    dave = await make('dave');
    await t.services.admin.disable('dave');
    browser = await launch();
    context = await browser.newContext();
    tab = await openPage(context);
    await logIn(tab.page, alice.person, base);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const pinsOfAlice = async () => {
    const stored = (await t.db('pins').where({ user_id: alice.userId }).first()) as { envelope: string; version: number };
    return { stored, pins: openPins(alice.keys.accountKey, alice.userId, fromB64(stored.envelope)) };
  };

  it('shows each member’s six words as computed from their keys, and marking one verified lasts', async () => {
    const page = tab.page;
    await page.click('[data-nav-family]');
    await page.waitForSelector(rowIn(bob.userId, 'seen'));

    const bobFp = fingerprint(bob.keys.signPk, bob.keys.boxPk);
    expect((await page.textContent(`${row(bob.userId)} [data-member-words]`))?.trim()).to.equal(bobFp.words.join(' '));
    expect(await page.textContent(`${row(bob.userId)} [data-member-hex]`)).to.equal(bobFp.hex);
    expect(await page.textContent(`${row(bob.userId)} [data-member-state]`)).to.match(/^Not verified yet\. First seen on /);
    // your own row: "You" and your words, to read out to others
    const mine = fingerprint(alice.keys.signPk, alice.keys.boxPk).words.join(' ');
    expect(await page.textContent(`${row(alice.userId)} [data-member-words]`)).to.equal(mine);
    expect(await page.textContent(`${row(alice.userId)} .member__name`)).to.match(/alice\s+You/);
    expect(await page.isHidden(`${row(alice.userId)} [data-member-verify]`)).to.equal(true);
    expect(await page.textContent('[data-family-status]')).to.equal('You have verified 0 of 3 family members.');
    // a disabled account is shown as such and cannot be shared with or verified
    expect(await page.textContent(`${row(dave.userId)} .member__name`)).to.match(/dave\s+Account disabled/);
    expect(await page.textContent(`${row(dave.userId)} [data-member-blocked]`)).to.equal('Sharing is blocked. dave’s account is disabled, so nothing can be shared with them.');
    expect(await page.isHidden(`${row(dave.userId)} [data-member-verify]`)).to.equal(true);
    expect(await page.isHidden(`${row(bob.userId)} [data-member-blocked]`)).to.equal(true);
    await reviewShot(page, 'family-page', true);

    // first sight pinned both, for alice only, encrypted
    const first = await pinsOfAlice();
    expect(first.pins.users[bob.userId]).to.deep.include({ fp: bobFp.hex, verified: false });
    expect(Object.keys(first.pins.users)).to.have.members([bob.userId, carol.userId, dave.userId]);

    // meanwhile another tab of alice's saves her pins (it saw a space's key at generation 3): this page's
    // save will find its version stale, read them again, merge and retry
    const spaceId = '6f1c3a52-8d0e-4b7a-9c61-2f4d5e6a7b8c';
    const elsewhere = { ...first.pins, spaces: { [spaceId]: 3 } };
    const put = await alice.client.agent
      .put('/api/pins')
      .set('X-CSRF-Token', alice.client.csrf)
      .send({ pins: toB64(sealPins(alice.keys.accountKey, alice.userId, elsewhere)), version: first.stored.version });
    expect(put.status, put.text).to.equal(200);

    await page.click(`${row(bob.userId)} [data-member-verify]`);
    await page.waitForSelector('[data-verify-dialog][open]');
    expect(await page.textContent('[data-verify-words]')).to.equal(bobFp.words.join(' '));
    expect(await page.textContent('#verify-question')).to.equal('Did bob read you exactly these six words, in this order?');
    expect(await page.evaluate(() => document.activeElement?.hasAttribute('data-verify-cancel')), 'the safe answer has the focus').to.equal(true);
    await reviewShot(page, 'family-verify-dialog');
    await page.click('[data-verify-ok]');
    await page.waitForSelector(rowIn(bob.userId, 'verified'));
    expect(await page.textContent(`${row(bob.userId)} [data-member-state]`)).to.match(/^✓ Verified on /);
    expect(await page.evaluate(() => document.activeElement?.hasAttribute('data-member-state')), 'focus on the new state').to.equal(true);
    expect(await page.textContent('[data-family-status]')).to.equal('bob is now verified. You have verified 1 of 3 family members.');

    await page.reload();
    await page.waitForSelector(rowIn(bob.userId, 'verified'));
    expect(await page.isHidden(`${row(bob.userId)} [data-member-verify]`)).to.equal(true);
    expect(await page.isHidden(`${row(bob.userId)} [data-member-blocked]`)).to.equal(true);

    // what the server holds says nothing of whom alice verified
    const after = await pinsOfAlice();
    expect(after.pins.users[bob.userId]).to.deep.include({ fp: bobFp.hex, verified: true });
    expect(after.pins.users[carol.userId]).to.deep.include({ verified: false });
    expect(after.pins.spaces).to.deep.equal({ [spaceId]: 3 }, 'the other tab’s save was merged, not overwritten');
    expect(after.stored.version).to.equal(3);
    const raw = JSON.stringify(await t.db('pins').select());
    for (const fp of [bobFp.hex, fingerprint(carol.keys.signPk, carol.keys.boxPk).hex]) {
      expect(raw).to.not.include(fp);
      expect(raw).to.not.include(fp.slice(0, 16));
    }
    expect(raw).to.not.include(bob.userId);

    // a verification that cannot be saved says so, and does not show as done
    await page.route('**/api/pins', (route) => (route.request().method() === 'PUT' ? route.abort() : route.continue()));
    await page.click(`${row(carol.userId)} [data-member-verify]`);
    await page.click('[data-verify-ok]');
    await page.waitForSelector(shown('[data-family-alert]'));
    expect(await page.textContent('[data-family-alert]')).to.equal("Can't reach the Heirloom server. Check your connection and try again.");
    expect(await page.evaluate(() => document.activeElement?.hasAttribute('data-family-alert'))).to.equal(true);
    expect(await page.getAttribute(row(carol.userId), 'data-state')).to.equal('seen');
    expect(await page.isVisible(`${row(carol.userId)} [data-member-verify]`)).to.equal(true);
    await page.unroute('**/api/pins');
    expect((await pinsOfAlice()).pins.users[carol.userId]).to.deep.include({ verified: false });
    await expectNoProblems(tab);
  });

  it('warns by name when the server presents another key for someone, blocks sharing with them, and never re-pins it', async () => {
    // A malicious server: another valid, self-signed key set for bob, and a signature that does not check out for carol
    const s = getSodium();
    const box = s.crypto_box_keypair();
    const sign = s.crypto_sign_keypair();
    const recovery = s.crypto_sign_keypair();
    const selfSignature = signSelf(sign.privateKey, bob.userId, box.publicKey, sign.publicKey, recovery.publicKey);
    await t.db('users').where({ id: bob.userId }).update({
      box_pk: toB64(box.publicKey),
      sign_pk: toB64(sign.publicKey),
      recovery_auth_pk: toB64(recovery.publicKey),
      self_signature: toB64(selfSignature),
    });
    const carolSig = fromB64((await t.db('users').where({ id: carol.userId }).first()).self_signature);
    carolSig[0] ^= 1;
    await t.db('users').where({ id: carol.userId }).update({ self_signature: toB64(carolSig) });

    // a new tab starts locked: the page waits for the password
    const fresh = await openPage(context);
    const page = fresh.page;
    await page.goto(`${base}/family`);
    await page.waitForSelector(shown('[data-unlock]'));
    await page.fill('[data-unlock-password]', alice.password);
    await page.click('[data-unlock-submit]');
    await expectUnlocked(page);
    await page.waitForSelector(rowIn(bob.userId, 'changed'), { timeout: DERIVE_MS });

    const warning = `${row(bob.userId)} [data-member-warning]`;
    expect(await page.isVisible(warning)).to.equal(true);
    expect(await page.textContent(`${warning} [data-member-warning-title]`)).to.equal('bob’s key has changed');
    expect(await page.textContent(`${warning} [data-member-warning-text]`)).to.match(/^bob’s key is not the one you saw on .+\. .*Do not share with them until you have compared the new words/);
    // the refusal of trust.keysFor(bob), which every sharing dialog asks before it seals anything
    expect(await page.textContent(`${row(bob.userId)} [data-member-blocked]`)).to.match(/^Sharing is blocked\. bob’s key has changed since you first saw it\./);
    const newFp = fingerprint(sign.publicKey, box.publicKey);
    expect(await page.textContent(`${row(bob.userId)} [data-member-words]`)).to.equal(newFp.words.join(' '));
    expect(await page.textContent('[data-family-status]')).to.equal('You have verified 0 of 3 family members. One key has changed: see the warning below.');

    await page.waitForSelector(rowIn(carol.userId, 'invalid'));
    expect(await page.textContent(`${row(carol.userId)} [data-member-state]`)).to.equal('Key not valid');
    expect(await page.textContent(`${row(carol.userId)} [data-member-blocked]`)).to.match(/^Sharing is blocked\. carol’s key is not valid/);
    expect(await page.isHidden(`${row(carol.userId)} [data-member-verify]`)).to.equal(true);
    await page.locator(row(bob.userId)).scrollIntoViewIfNeeded();
    await reviewShot(page, 'family-key-changed', true);

    // the old fingerprint stays pinned: loading the page did not accept the new key
    const oldFp = fingerprint(bob.keys.signPk, bob.keys.boxPk).hex;
    expect((await pinsOfAlice()).pins.users[bob.userId]).to.deep.include({ fp: oldFp, verified: true });

    // after comparing the new words with bob, alice accepts them on purpose
    await page.click(`${row(bob.userId)} [data-member-verify]`);
    await page.waitForSelector('[data-verify-dialog][open]');
    expect(await page.textContent('[data-verify-words]')).to.equal(newFp.words.join(' '));
    await page.click('[data-verify-ok]');
    await page.waitForSelector(rowIn(bob.userId, 'verified'));
    expect(await page.isHidden(`${row(bob.userId)} [data-member-warning]`)).to.equal(true);
    expect(await page.isHidden(`${row(bob.userId)} [data-member-blocked]`)).to.equal(true);
    expect((await pinsOfAlice()).pins.users[bob.userId]).to.deep.include({ fp: newFp.hex, verified: true });
    await expectNoProblems(fresh);
  });
});

import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember } from '../helpers/client.js';
import { makeDocument, upload } from '../helpers/documents.js';
import { addMember, asPerson, createSpace, removeMember, shareDocument, shareDocuments, type Person as ApiPerson } from '../helpers/sharing.js';
import { fromB64, getSodium, ready, signSelf, toB64, toHex, unwrapDocKeyForOwner } from '../../client/crypto/index.js';
import { launch, reviewShot } from './browser.js';
import { expectNoProblems, logIn, openPage, personOf, shown, type WatchedPage } from './flows.js';
import { blobStatus, choosePlace, closePanel, docRow, openDocuments, openPanel, previewText, uploadTexts } from './documents-page.js';

interface Member {
  api: ApiPerson;
  tab: WatchedPage;
  page: Page;
}

const person = (id: string) => `[data-share-dialog] [data-share-person="${id}"]`;

describe('sharing in the browser: documents shared with one person, spaces, and a key the server changed', function () {
  this.timeout(180_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let ada: Member;
  let bob: Member;
  let cyd: Member;
  /** ada's document of the first test, moved into a space in the second */
  let willId = '';

  before(async () => {
    await ready();
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
    // three people, each in a browser context of their own (their own cookies and session storage)
    const join = async (name: string): Promise<Member> => {
      const m = await newMember(t.app, t.services, name);
      const tab = await openPage(await browser.newContext());
      await logIn(tab.page, personOf(m), base);
      return { api: asPerson(m.client, m.account.keys, name), tab, page: tab.page };
    };
    ada = await join('ada');
    bob = await join('bob');
    cyd = await join('cyd');
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shares a document with one person, who opens it under “Shared with me”; after Revoke they get nothing', async () => {
    const text = 'The will is in the blue folder, top drawer.';
    await openDocuments(ada.page, base);
    const id = (await uploadTexts(ada.page, { 'where-the-will-is.txt': text })).get('where-the-will-is.txt') ?? '';
    willId = id;

    // ada shares it from the panel: bob is listed, not compared yet, and can be ticked
    await ada.page.click(`${docRow(id)} [data-doc-open]`);
    await ada.page.click('dialog[data-doc-panel] [data-doc-share]');
    await ada.page.waitForSelector(`${person(bob.api.userId)}[data-share-state="seen"]`);
    expect(await ada.page.textContent(`${person(bob.api.userId)} [data-share-note]`)).to.include('You have not compared bob’s words yet');
    await ada.page.check(`${person(bob.api.userId)} input[data-share-pick]`);
    await reviewShot(ada.page, 'docs-share-dialog');
    await ada.page.click('[data-share-dialog] [data-share-submit]');
    await ada.page.waitForSelector('[data-share-dialog][data-share-state="done"]');
    expect(await ada.page.textContent('[data-share-done]')).to.equal('Shared “where-the-will-is.txt” with bob.');
    await ada.page.click('[data-share-dialog] [data-share-cancel]');
    await ada.page.waitForSelector(`dialog[data-doc-panel] [data-access-row="${bob.api.userId}"]`);
    await reviewShot(ada.page, 'docs-who-has-access');

    // bob: under "Shared with me", with ada's name; he can read it but not change, trash or share it
    await openDocuments(bob.page, base);
    await choosePlace(bob.page, 'shared');
    expect(await bob.page.textContent(`${docRow(id)} [data-doc-origin]`)).to.equal('Shared by ada');
    expect(await previewText(bob.page, id)).to.equal(text);
    expect(await bob.page.textContent('dialog[data-doc-panel] [data-doc-origin]')).to.match(/^Shared with you by ada on /);
    await reviewShot(bob.page, 'docs-shared-with-me');
    for (const part of ['[data-doc-edit]', '[data-doc-foot]', '[data-doc-sharing]']) {
      expect(await bob.page.isHidden(`dialog[data-doc-panel] ${part}`), part).to.equal(true);
    }
    await closePanel(bob.page);

    // ada revokes; the confirmation says plainly what bob may have kept
    await ada.page.click(`dialog[data-doc-panel] [data-access-revoke="${bob.api.userId}"]`);
    expect(await ada.page.textContent('[data-confirm-text]')).to.include('they may have kept a copy');
    await ada.page.click('[data-confirm-ok]');
    await ada.page.waitForSelector(`dialog[data-doc-panel] [data-access-row="${bob.api.userId}"]`, { state: 'detached' });
    expect(await ada.page.textContent('dialog[data-doc-panel] [data-doc-access-summary]')).to.include('bob no longer has access');

    await openDocuments(bob.page, base);
    expect(await bob.page.$(docRow(id))).to.equal(null);
    expect(await blobStatus(bob.page, id)).to.equal(404);
    await expectNoProblems(ada.tab);
    await expectNoProblems(bob.tab);
  });

  it('a space: each member uploads into it from the documents page and opens the others’; a removed member loses it at once', async () => {
    const spaceId = await createSpace(ada.api, 'Taxes');
    await addMember(ada.api, spaceId, bob.api);
    await addMember(ada.api, spaceId, cyd.api);

    const ids = new Map<string, string>();
    for (const [who, m] of [['ada', ada], ['bob', bob], ['cyd', cyd]] as const) {
      // the Spaces page links here with ?space=<id>: the space is shown, and uploads go into it
      await m.page.goto(`${base}/documents?space=${spaceId}`);
      await m.page.waitForSelector(`[data-docs-place][data-place="space:${spaceId}"]`, { state: 'attached' });
      await m.page.waitForFunction(() => document.querySelector('[data-upload-target]')?.textContent?.startsWith('Uploading into Taxes'));
      const name = `${who}-receipts.txt`;
      ids.set(who, (await uploadTexts(m.page, { [name]: `${who}'s receipts for 2026` })).get(name) ?? '');
    }
    for (const [who, m] of [['ada', ada], ['bob', bob], ['cyd', cyd]] as const) {
      await openDocuments(m.page, base);
      await choosePlace(m.page, `space:${spaceId}`);
      expect(await m.page.locator('[data-docs-body] tr[data-doc-row]').count(), `${who} sees the three`).to.equal(3);
      for (const [other, id] of ids) {
        if (other === who) continue;
        expect(await m.page.textContent(`${docRow(id)} [data-doc-origin]`)).to.equal(`In Taxes · added by ${other}`);
        expect(await previewText(m.page, id), `${who} opens ${other}'s`).to.equal(`${other}'s receipts for 2026`);
        await closePanel(m.page);
      }
    }
    await reviewShot(bob.page, 'docs-space', true);

    // ada moves a document of her own into the space: bob can open it there
    await openDocuments(ada.page, base);
    await openPanel(ada.page, willId);
    await ada.page.click('dialog[data-doc-panel] [data-doc-move]');
    await ada.page.selectOption('[data-move-dialog] [data-move-select]', spaceId);
    await ada.page.click('[data-move-dialog] [data-move-submit]');
    await ada.page.waitForSelector(shown('dialog[data-doc-panel] [data-doc-unspace]'));
    expect(await ada.page.textContent('dialog[data-doc-panel] [data-doc-origin]')).to.equal('In Taxes');
    await openDocuments(bob.page, base);
    expect(await bob.page.textContent(`${docRow(willId)} [data-doc-origin]`)).to.equal('In Taxes · added by ada');
    expect(await previewText(bob.page, willId)).to.equal('The will is in the blue folder, top drawer.');

    await removeMember(ada.api, spaceId, cyd.api.userId);
    await openDocuments(cyd.page, base);
    expect(await cyd.page.locator(`[data-docs-place-select] option[value="space:${spaceId}"]`).count()).to.equal(0);
    for (const id of [ids.get('ada'), ids.get('bob'), willId]) {
      expect(await cyd.page.$(docRow(id ?? ''))).to.equal(null);
      expect(await blobStatus(cyd.page, id ?? '')).to.equal(404);
    }
    // what cyd added stays cyd's own document
    expect(await cyd.page.$(docRow(ids.get('cyd') ?? ''))).to.not.equal(null);
    for (const m of [ada, bob, cyd]) await expectNoProblems(m.tab);
  });

  it('opens many shared documents at once, and refuses one whose signature is not the sharer’s', async () => {
    const many = Array.from({ length: 70 }, (_, i) => makeDocument(ada.api.keys, ada.api.userId, Buffer.from(`page ${i}`), `letter-${String(i).padStart(2, '0')}.txt`));
    for (const d of many) expect((await upload(ada.api.client, d)).status).to.equal(204);
    expect((await shareDocuments(ada.api, many.map((d) => d.id), [cyd.api])).status).to.equal(200);
    // the server (or someone with its database) swaps one grant's signature for another valid-looking one
    const forged = many[40]?.id ?? '';
    const row = await t.db('grants').where({ document_id: forged, recipient_id: cyd.api.userId }).first();
    const sig = Buffer.from(row.sig, 'base64url');
    sig[10] = (sig[10] ?? 0) ^ 1;
    await t.db('grants').where({ document_id: forged, recipient_id: cyd.api.userId }).update({ sig: toB64(sig) });

    const rows = () => t.db('grants').whereIn('document_id', many.map((d) => d.id)).andWhere({ recipient_id: cyd.api.userId });
    const everyRowShown = async () => {
      await choosePlace(cyd.page, 'shared');
      expect(await cyd.page.getAttribute('[data-docs-table]', 'data-total')).to.equal('70');
      for (const d of many) {
        const origin = await cyd.page.locator(`${docRow(d.id)} [data-doc-origin]`).textContent();
        if (d.id === forged) {
          expect(origin).to.include('The signature on this shared document is not valid');
          expect(await cyd.page.getAttribute(docRow(d.id), 'data-doc-problem')).to.equal('');
        } else {
          expect(await cyd.page.textContent(`${docRow(d.id)} [data-doc-name]`)).to.equal(d.name);
          expect(origin).to.equal('Shared by ada');
        }
      }
    };

    // the first load opens each grant the slow way, then hands the server cyd's own wraps of those it checked
    const accepting = cyd.page.waitForResponse((r) => r.url().endsWith('/api/grants/accept'));
    await openDocuments(cyd.page, base);
    await everyRowShown();
    expect((await accepting).status()).to.equal(200);
    const wraps = new Map((await rows()).map((g) => [g.document_id as string, g.recipient_wrap as string | null]));
    expect(wraps.get(forged)).to.equal(null);
    for (const d of many) {
      if (d.id === forged) continue;
      // exactly the owner's format, under cyd's account key and with cyd's ID
      const wrap = wraps.get(d.id);
      expect(wrap, d.name).to.be.a('string');
      expect(toHex(unwrapDocKeyForOwner(cyd.api.keys.accountKey, fromB64(wrap ?? ''), d.id, cyd.api.userId))).to.equal(toHex(d.docKey));
    }

    // a later load opens the accepted ones with cyd's own documents; the forged one is still refused, never accepted
    const posts: string[] = [];
    cyd.page.on('request', (r) => {
      if (r.url().endsWith('/api/grants/accept')) posts.push(r.url());
    });
    await openDocuments(cyd.page, base);
    await everyRowShown();
    await cyd.page.waitForFunction(() => performance.getEntriesByName('heirloom:documents:ready').length > 0);
    expect(posts).to.deep.equal([]);
    expect((await rows()).find((g) => g.document_id === forged)?.recipient_wrap).to.equal(null);
    await expectNoProblems(cyd.tab);
  });

  it('blocks sharing with someone whose key the server changed, names them, and seals nothing to the new key', async () => {
    await openDocuments(ada.page, base);
    const id = (await uploadTexts(ada.page, { 'passport.txt': 'P<ADA' })).get('passport.txt') ?? '';
    const fromBob = makeDocument(bob.api.keys, bob.api.userId, Buffer.from('from bob'), 'bob-to-ada.txt');
    expect((await upload(bob.api.client, fromBob)).status).to.equal(204);
    await shareDocument(bob.api, fromBob.id, ada.api);
    // ada's browser has pinned bob's key since the first test; the server now hands out another valid one
    const s = getSodium();
    const box = s.crypto_box_keypair();
    const sign = s.crypto_sign_keypair();
    const recovery = s.crypto_sign_keypair();
    await t.db('users').where({ id: bob.api.userId }).update({
      box_pk: toB64(box.publicKey),
      sign_pk: toB64(sign.publicKey),
      recovery_auth_pk: toB64(recovery.publicKey),
      self_signature: toB64(signSelf(sign.privateKey, bob.api.userId, box.publicKey, sign.publicKey, recovery.publicKey)),
    });

    await ada.page.check(`${docRow(id)} [data-doc-select]`);
    await ada.page.click('[data-docs-selection] [data-docs-share]');
    const bobRow = `${person(bob.api.userId)}[data-share-state="changed"]`;
    await ada.page.waitForSelector(bobRow);
    expect(await ada.page.isDisabled(`${bobRow} input[data-share-pick]`)).to.equal(true);
    const warning = (await ada.page.textContent(`${bobRow} [data-share-note]`)) ?? '';
    expect(warning).to.include('bob’s key has changed');
    expect(warning).to.include('blocked');
    expect(await ada.page.getAttribute(`${bobRow} [data-share-note] a`, 'href')).to.equal('/family');
    // cyd can still be chosen
    expect(await ada.page.isDisabled(`${person(cyd.api.userId)} input[data-share-pick]`)).to.equal(false);
    await reviewShot(ada.page, 'docs-key-changed');

    // even a forced tick seals nothing: the page refuses bob's keys
    await ada.page.evaluate((sel) => {
      const box = document.querySelector<HTMLInputElement>(sel);
      if (box) {
        box.disabled = false;
        box.removeAttribute('data-blocked');
        box.checked = true;
        box.dispatchEvent(new Event('change', { bubbles: true }));
      }
    }, `${bobRow} input[data-share-pick]`);
    await ada.page.click('[data-share-dialog] [data-share-submit]');
    await ada.page.waitForSelector(shown('[data-share-dialog] [data-share-error]'));
    expect(await ada.page.textContent('[data-share-dialog] [data-share-error]')).to.include('bob');
    expect(await t.db('grants').where({ recipient_id: bob.api.userId })).to.deep.equal([]);

    // what bob shared before is not opened with a key ada's browser cannot trust: the row says why
    await openDocuments(ada.page, base);
    const problem = (await ada.page.textContent(`${docRow(fromBob.id)}[data-doc-problem] [data-doc-origin]`)) ?? '';
    expect(problem).to.include('bob’s key has changed since you first saw it, so this document is not opened');
    await openPanel(ada.page, fromBob.id);
    expect(await ada.page.isDisabled('dialog[data-doc-panel] [data-doc-download]')).to.equal(true);
    expect(await ada.page.textContent('dialog[data-doc-panel] [data-doc-problem]')).to.equal(problem);
    await expectNoProblems(ada.tab);
  });
});

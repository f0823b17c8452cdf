import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember } from '../helpers/client.js';
import { TotpCodes } from '../helpers/totp.js';
import { launch } from './browser.js';
import { expectNoProblems, expectUnlocked, openPage, registerUpToCode, shown, totpSecret } from './flows.js';

/** The authenticator step of registration in the browser (issue 8, items 5 and 14). */
describe('registration in the browser: the authenticator step', function () {
  this.timeout(120_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;

  before(async () => {
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('relabels the same authenticator with the new username when the chosen one was taken at the last step', async () => {
    const { url } = await t.services.registration.createInvitation({ isAdmin: false });
    const context = await browser.newContext();
    try {
      const tab = await openPage(context);
      const { page } = tab;
      const password = 'meadow lantern copper 58';
      await page.goto(url);
      await registerUpToCode(page, 'olivia', password);
      expect(await page.textContent('[data-totp-label]')).to.match(/^Your app will list it as “Heirloom \(127\.0\.0\.1 port \d+\): olivia”\.$/);
      const secret = await totpSecret(page);
      const codes = new TotpCodes(secret);

      // somebody else takes the name while this person scans the code
      await newMember(t.app, t.services, 'olivia');
      await page.fill('#reg-totp-code', await codes.next());
      await page.click('[data-reg-finish]');
      await page.waitForSelector(shown('[data-reg-username-only]'));
      expect(await page.textContent('[data-reg-account-error]')).to.match(/username is taken/);

      await page.fill('#reg-username', 'olivia.b');
      await page.click('[data-reg-account-submit]');
      await page.waitForSelector(shown('[data-reg-step="totp"]'));
      expect(await page.textContent('[data-totp-label]')).to.match(/: olivia\.b”\.$/);
      expect(await totpSecret(page), 'the app already set up keeps working').to.equal(secret);
      await page.fill('#reg-totp-code', await codes.next());
      await page.click('[data-reg-finish]');
      await page.waitForURL((u) => u.origin === base && u.pathname === '/');
      await expectUnlocked(page);
      await expectNoProblems(tab);
      expect(await t.db('users').where({ username: 'olivia.b' }).first()).to.not.equal(undefined);
    } finally {
      await context.close();
    }
  });
});

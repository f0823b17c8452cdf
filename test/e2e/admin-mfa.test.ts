import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember } from '../helpers/client.js';
import { TotpCodes } from '../helpers/totp.js';
import { launch } from './browser.js';
import { DERIVE_MS, expectNoProblems, expectUnlocked, openPage, shown } from './flows.js';

describe('the login page after heirloom-admin user reset-mfa', function () {
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

  it('shows the new QR code and key with the reason, and the first code from the new app logs in', async () => {
    const m = await newMember(t.app, t.services, 'harriet', 'amber willow teapot 12');
    await t.services.admin.resetMfa('harriet');
    const tab = await openPage(await browser.newContext());
    const { page } = tab;
    await page.goto(`${base}/login`);
    await page.fill('#login-username', 'harriet');
    await page.fill('#login-password', m.password);
    await page.click('[data-login-submit]');
    await page.waitForSelector(shown('[data-login-enroll-form]'), { timeout: DERIVE_MS });
    expect(await page.isHidden('[data-login-totp-form]')).to.equal(true);
    expect(await page.textContent('[data-login-enroll-reason]')).to.equal(
      "Your family's admin reset your two-step login. Set it up again to continue.",
    );
    expect(await page.$('[data-login-enroll-qr] svg[role="img"]')).to.not.equal(null);
    const secret = ((await page.textContent('[data-login-enroll-secret]')) ?? '').replace(/\s+/g, '');
    expect(secret).to.match(/^[A-Z2-7]{32}$/);
    const codes = new TotpCodes(secret, m.client.lastStep);

    await page.fill('#login-enroll-code', codes.wrong());
    await page.click('[data-login-enroll-submit]');
    await page.waitForSelector(shown('[data-login-error]'));
    expect(await page.textContent('[data-login-error]')).to.match(/That code is not right/);

    await page.fill('#login-enroll-code', await codes.next());
    await page.click('[data-login-enroll-submit]');
    await page.waitForURL((u) => u.pathname === '/', { timeout: DERIVE_MS });
    await expectUnlocked(page);
    await page.goto(`${base}/settings`);
    expect(await page.textContent('[data-audit-event="mfa_reset"]')).to.match(/admin reset your two-step login/);
    await expectNoProblems(tab);
  });
});

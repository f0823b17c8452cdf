import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember } from '../helpers/client.js';
import { leaks } from '../helpers/secrets.js';
import { LOGIN_FAILED_MESSAGE } from '../../server/errors.js';
import { launch } from './browser.js';
import {
  DERIVE_MS,
  expectLocked,
  expectNoProblems,
  expectUnlocked,
  logIn,
  openPage,
  passwordStep,
  personOf,
  shown,
  storedKeys,
  type Person,
  type WatchedPage,
} from './flows.js';

describe('login, unlock and lock in the browser', function () {
  this.timeout(120_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let grace: Person;
  /** every password typed into a page, right or wrong */
  const typedPasswords: string[] = [];

  // One person's day in one browser profile: the tests below follow on from each other.
  let context: BrowserContext;
  let tab: WatchedPage;
  let page: Page;

  before(async () => {
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
    // registered through the API (the browser registration has its own tests); the first code is used there
    const member = await newMember(t.app, t.services, 'grace', 'quiet orchard lantern 47');
    grace = personOf(member);
    typedPasswords.push(grace.password);
    context = await browser.newContext();
    tab = await openPage(context);
    page = tab.page;
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('logs in with the password and then the two-step code, and opens the vault', async () => {
    await page.goto(`${base}/`);
    await page.waitForURL((u) => u.pathname === '/login');
    expect(await page.isHidden('[data-login-totp-form]')).to.equal(true);
    await passwordStep(page, grace.username, grace.password);
    expect(await page.isHidden('[data-login-password-form]')).to.equal(true);
    expect(await page.inputValue('#login-password'), 'password field emptied').to.equal('');
    await page.fill('#login-code', await grace.codes.next());
    await page.click('[data-login-totp-submit]');
    await page.waitForURL((u) => u.pathname === '/', { timeout: DERIVE_MS });
    await expectUnlocked(page);
    expect(await page.textContent('[data-user-name]')).to.match(/\bgrace\b/);
    await page.waitForSelector('[data-fingerprint][data-fingerprint-hex]');
    await expectNoProblems(tab);
  });

  it('logs out, wipes the keys from the tab and needs a login again', async () => {
    await page.click('[data-action="logout"]');
    await page.waitForURL((u) => u.pathname === '/login');
    expect(await storedKeys(page)).to.equal(null);
    await expectNoProblems(tab);
    await page.goto(`${base}/settings`);
    await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === '/settings');
    await expectNoProblems(tab);
  });

  it('logs in again and goes on to the page that was asked for', async () => {
    // the login page with ?next=/settings is open from the test before
    expect(await logIn(page, grace)).to.equal('/settings');
    expect(await page.getAttribute('body', 'data-page')).to.equal('settings');
    await expectNoProblems(tab);
  });

  it('keeps the vault unlocked when the tab is reloaded', async () => {
    await page.reload();
    await expectUnlocked(page);
    expect(await page.isVisible('[data-password-form]')).to.equal(true);
    await expectNoProblems(tab);
  });

  it('asks a new tab to unlock, refuses a wrong password there and opens with the right one', async () => {
    const second = await openPage(context);
    try {
      await second.page.goto(`${base}/`);
      await expectLocked(second.page);
      expect(await second.page.getAttribute('[data-fingerprint]', 'data-fingerprint-hex')).to.equal(null);

      const wrong = 'quiet orchard lantern 48';
      typedPasswords.push(wrong);
      await second.page.fill('#unlock-password', wrong);
      await second.page.click('[data-unlock-submit]');
      await second.page.waitForSelector(shown('[data-unlock-error]'), { timeout: DERIVE_MS });
      expect(await second.page.textContent('[data-unlock-error]')).to.equal('That password is not right. Please try again.');
      expect(await storedKeys(second.page)).to.equal(null);
      expect(await second.page.isHidden('[data-vault-content]')).to.equal(true);

      await second.page.fill('#unlock-password', grace.password);
      await second.page.click('[data-unlock-submit]');
      await expectUnlocked(second.page);
      expect(await second.page.isHidden('[data-unlock-error]')).to.equal(true);
      await second.page.waitForSelector('[data-fingerprint][data-fingerprint-hex]');
      await expectNoProblems(second);
    } finally {
      await second.page.close();
    }
    // the first tab was not touched
    await expectUnlocked(page);
  });

  it('locks with the Lock button and takes the keys out of the tab', async () => {
    await page.goto(`${base}/`);
    await expectUnlocked(page);
    await page.waitForSelector('[data-fingerprint][data-fingerprint-hex]');
    await page.click('[data-action="lock"]');
    await expectLocked(page);
    expect(await page.evaluate(() => sessionStorage.getItem('heirloom.lastActive'))).to.equal(null);
    expect(await page.getAttribute('[data-fingerprint]', 'data-fingerprint-hex')).to.equal(null);
    expect(await page.isHidden('[data-action="lock"]')).to.equal(true);
    // still locked after a reload: nothing was left behind to reopen
    await page.reload();
    await expectLocked(page);
    await page.fill('#unlock-password', grace.password);
    await page.click('[data-unlock-submit]');
    await expectUnlocked(page);
    await expectNoProblems(tab);
  });

  it('locks a tab that was left alone for longer than the idle limit', async () => {
    await page.evaluate(() => sessionStorage.setItem('heirloom.lastActive', String(Date.now() - 24 * 3600_000)));
    await page.reload();
    await expectLocked(page);
    await page.waitForSelector(shown('[data-unlock-error]'));
    expect(await page.textContent('[data-unlock-error]')).to.match(/Locked after a while without use/);
    await expectNoProblems(tab);
  });

  it('answers an unknown user, a wrong password and a wrong two-step code with the same message', async () => {
    const fresh = await browser.newContext();
    try {
      const login = await openPage(fresh);
      const p = login.page;
      await p.goto(`${base}/login`);
      const attempt = async (username: string, password: string) => {
        await p.fill('#login-username', username);
        await p.fill('#login-password', password);
        await p.click('[data-login-submit]');
        await p.waitForSelector(shown('[data-login-error]'), { timeout: DERIVE_MS });
        return p.textContent('[data-login-error]');
      };
      typedPasswords.push('not her password at all', 'some password for nobody');
      const unknownUser = await attempt('nobody-here', 'some password for nobody');
      const wrongPassword = await attempt(grace.username, 'not her password at all');
      expect(unknownUser).to.equal(LOGIN_FAILED_MESSAGE);
      expect(wrongPassword).to.equal(LOGIN_FAILED_MESSAGE);
      expect(await p.isHidden('[data-login-totp-form]')).to.equal(true);

      await passwordStep(p, grace.username, grace.password);
      expect(await p.isHidden('[data-login-error]'), 'old error cleared').to.equal(true);
      await p.fill('#login-code', grace.codes.wrong());
      await p.click('[data-login-totp-submit]');
      await p.waitForSelector(shown('[data-login-error]'));
      expect(await p.textContent('[data-login-error]')).to.equal(LOGIN_FAILED_MESSAGE);
      // still on the code step, not logged in
      expect(await p.isVisible('[data-login-totp-form]')).to.equal(true);
      expect(new URL(p.url()).pathname).to.equal('/login');
      expect(await storedKeys(p)).to.equal(null);
      await expectNoProblems(login);
    } finally {
      await fresh.close();
    }
  });

  it('never writes a typed password or code to the server log or the data folder', async () => {
    expect(grace.codes.typed.length, 'codes typed').to.be.at.least(3);
    const log = t.logs();
    expect(log, 'the log has content').to.contain('/api/auth/totp');
    expect(leaks([t.logFile, t.dataDir], { text: typedPasswords, codes: grace.codes.typed })).to.deep.equal([]);
  });
});

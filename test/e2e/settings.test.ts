import { expect } from 'chai';
import type { Browser, BrowserContext } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { LOGIN_FAILED_MESSAGE } from '../../server/errors.js';
import { launch } from './browser.js';
import {
  DERIVE_MS,
  expectKeysWiped,
  expectNoProblems,
  expectUnlocked,
  logIn,
  openPage,
  register,
  shown,
  type Person,
  type WatchedPage,
} from './flows.js';

const sessionRows = (tab: WatchedPage) => tab.page.$$eval('[data-session]', (els) => els.map((e) => e.getAttribute('data-session')));
const currentSession = (tab: WatchedPage) => tab.page.getAttribute('[data-session][data-session-current]', 'data-session');

describe('settings in the browser: sessions and password', function () {
  this.timeout(180_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let henry: Person;
  let fingerprint: string | null;

  // Two devices of the same person, as two browser profiles; the tests follow on from each other.
  let desk: BrowserContext;
  let phone: BrowserContext;
  let deskTab: WatchedPage;
  let phoneTab: WatchedPage;

  before(async () => {
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
    desk = await browser.newContext();
    phone = await browser.newContext();
    deskTab = await openPage(desk);
    phoneTab = await openPage(phone);
    const { url } = await t.services.registration.createInvitation({ isAdmin: false });
    henry = await register(deskTab.page, url, 'henry', 'harbour pebble cinnamon nine');
    await deskTab.page.waitForSelector('[data-fingerprint][data-fingerprint-hex]');
    fingerprint = await deskTab.page.getAttribute('[data-fingerprint]', 'data-fingerprint-hex');
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lets one device end the other’s session from the list, and the other is sent to log in', async () => {
    expect(await logIn(phoneTab.page, henry, base)).to.equal('/');
    await phoneTab.page.goto(`${base}/settings`);
    await expectUnlocked(phoneTab.page);
    const phoneSession = await currentSession(phoneTab);
    expect(phoneSession).to.be.a('string').and.not.equal('');

    const desk1 = deskTab.page;
    await desk1.goto(`${base}/settings`);
    await expectUnlocked(desk1);
    const deskSession = await currentSession(deskTab);
    expect(deskSession).to.not.equal(phoneSession);
    expect(await sessionRows(deskTab)).to.have.members([deskSession, phoneSession]);
    expect(await desk1.$(`[data-session="${deskSession}"] [data-session-end]`), 'no End button for this device').to.equal(null);

    // htmx swaps the list in place: the page itself stays (the marker survives)
    await desk1.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));
    await desk1.click(`[data-session="${phoneSession}"] [data-session-end]`);
    await desk1.waitForSelector(`[data-session="${phoneSession}"]`, { state: 'detached' });
    expect(await sessionRows(deskTab)).to.deep.equal([deskSession]);
    expect(await desk1.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).to.equal(true);
    await expectUnlocked(desk1);
    await expectNoProblems(deskTab);

    // the phone's next navigation ends on the login page, and its keys are gone
    await expectNoProblems(phoneTab);
    await phoneTab.page.click('[data-nav-settings]');
    await phoneTab.page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === '/settings');
    await expectKeysWiped(phoneTab.page);
    await expectNoProblems(phoneTab);
  });

  it('changes the password, logs the other device out, and from then on only the new password works', async () => {
    // the phone logs in again (from the login page it was sent to)
    expect(await logIn(phoneTab.page, henry)).to.equal('/settings');

    const desk1 = deskTab.page;
    await desk1.reload();
    await expectUnlocked(desk1);
    expect(await sessionRows(deskTab)).to.have.length(2);

    const oldPassword = henry.password;
    const newPassword = 'copper willow harbour nineteen';
    await desk1.fill('#current-password', oldPassword);
    await desk1.fill('#new-password', newPassword);
    await desk1.fill('#new-password-confirm', newPassword);
    await desk1.click('[data-password-submit]');
    await desk1.waitForSelector(shown('[data-password-success]'), { timeout: 2 * DERIVE_MS });
    expect(await desk1.textContent('[data-password-success]')).to.match(/Your password is changed/);
    expect(await desk1.isHidden('[data-password-error]')).to.equal(true);
    // the lists refresh in place: one session left, and the change in the security log
    await desk1.waitForFunction(() => document.querySelectorAll('[data-session]').length === 1);
    await desk1.waitForSelector('[data-audit-event="password_changed"]');
    await expectNoProblems(deskTab);
    // this device stays logged in and unlocked
    await desk1.reload();
    expect(new URL(desk1.url()).pathname).to.equal('/settings');
    await expectUnlocked(desk1);
    await expectNoProblems(deskTab);

    // the phone is out
    await expectNoProblems(phoneTab);
    const phone1 = phoneTab.page;
    await phone1.reload();
    await phone1.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === '/settings');
    await expectKeysWiped(phone1);

    // the old password is refused, the new one opens the same vault
    await phone1.fill('#login-username', henry.username);
    await phone1.fill('#login-password', oldPassword);
    await phone1.click('[data-login-submit]');
    await phone1.waitForSelector(shown('[data-login-error]'), { timeout: DERIVE_MS });
    expect(await phone1.textContent('[data-login-error]')).to.equal(LOGIN_FAILED_MESSAGE);
    expect(await phone1.isHidden('[data-login-totp-form]')).to.equal(true);

    henry = { ...henry, password: newPassword };
    expect(await logIn(phone1, henry)).to.equal('/settings');
    await phone1.goto(`${base}/`);
    await expectUnlocked(phone1);
    await phone1.waitForSelector('[data-fingerprint][data-fingerprint-hex]');
    expect(await phone1.getAttribute('[data-fingerprint]', 'data-fingerprint-hex'), 'same keys as before').to.equal(fingerprint);
    await expectNoProblems(phoneTab);
  });
});

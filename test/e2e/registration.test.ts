import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient } from '../helpers/client.js';
import { TotpCodes } from '../helpers/totp.js';
import { launch } from './browser.js';
import { DERIVE_MS, expectNoProblems, expectUnlocked, kitWords, logIn, openPage, finishRegistration, shown, totpSecret, type Person } from './flows.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('registration in the browser', function () {
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

  /** What the server itself says about a token, to compare with what the page shows. */
  async function serverMessage(token: string): Promise<{ status: number; error: string; message: string }> {
    const c = new TestClient(t.app);
    await c.open('/register');
    const res = await c.post('/api/register/start', { token });
    return { status: res.status, error: res.body.error, message: res.body.message };
  }

  it('takes the admin from the setup link to an unlocked dashboard, refusing a weak password and a wrong kit word', async () => {
    const { url } = await t.services.registration.createInvitation({ isAdmin: true });
    const context = await browser.newContext();
    try {
      const tab = await openPage(context);
      const { page } = tab;
      await page.goto(url);
      await page.waitForSelector(shown('[data-reg-step="account"]'));
      expect(await page.textContent('[data-reg-heading]')).to.match(/you’ll be the family’s admin/);
      expect(await page.textContent('[data-reg-intro]')).to.match(/As the admin you will invite the rest of the family/);

      // a common password: refused with the reason, and the page stays on this step
      await page.fill('#reg-username', 'alice');
      await page.fill('#reg-password', 'password123');
      await page.fill('#reg-password-confirm', 'password123');
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-strength]')?.dataset.score) >= 0);
      expect(Number(await page.getAttribute('[data-strength]', 'data-score'))).to.be.below(2);
      expect(await page.textContent('[data-strength-label]')).to.match(/^Strength: (Very weak|Weak)\. This password is too easy to guess/);
      await page.click('[data-reg-account-submit]');
      await page.waitForSelector(shown('[data-reg-account-error]'));
      expect(await page.textContent('[data-reg-account-error]')).to.match(/too easy to guess/);
      expect(await page.getAttribute('#reg-password', 'aria-invalid')).to.equal('true');
      expect(await page.isVisible('[data-reg-step="account"]')).to.equal(true);
      expect(await page.isHidden('[data-reg-step="kit"]')).to.equal(true);

      // a good one goes on to the kit: 24 words, the username, this instance's address, today
      const password = 'lantern orchard violet seventeen';
      await page.fill('#reg-password', password);
      await page.fill('#reg-password-confirm', password);
      await page.click('[data-reg-account-submit]');
      await page.waitForSelector(shown('[data-reg-step="kit"]'), { timeout: DERIVE_MS });
      const words = await kitWords(page);
      expect(words).to.have.length(24);
      for (const w of words) expect(w).to.match(/^[a-z]{3,8}$/);
      expect(await page.textContent('[data-kit-username]')).to.equal('alice');
      expect((await page.textContent('[data-kit-url]'))?.trim()).to.equal(base);
      expect((await page.textContent('[data-kit-date]'))?.trim()).to.not.equal('');
      expect(await page.isVisible('[data-kit-print]')).to.equal(true);

      // three words asked back; a wrong one is named and refused
      await page.click('[data-kit-continue]');
      await page.waitForSelector(shown('[data-reg-step="confirm"]'));
      const inputs = await page.$$('[data-confirm-word]');
      expect(inputs).to.have.length(3);
      const asked = await Promise.all(inputs.map(async (i) => Number(await i.getAttribute('data-confirm-word'))));
      expect(new Set(asked).size).to.equal(3);
      for (const n of asked) expect(n).to.be.within(1, 24);
      const wordOf = (n: number) => words[n - 1] ?? '';
      const wrongWord = words.find((w) => w !== wordOf(asked[0] ?? 0)) ?? 'zzz';
      await inputs[0]?.fill(wrongWord);
      for (const [i, input] of inputs.slice(1).entries()) await input.fill(wordOf(asked[i + 1] ?? 0));
      await page.click('[data-reg-confirm-submit]');
      await page.waitForSelector(shown('[data-reg-confirm-error]'));
      expect(await page.textContent('[data-reg-confirm-error]')).to.contain(`Word #${asked[0]} does not match your kit`);
      expect(await page.isHidden('[data-reg-step="totp"]')).to.equal(true);
      for (const [i, input] of inputs.entries()) await input.fill(wordOf(asked[i] ?? 0));
      await page.click('[data-reg-confirm-submit]');

      // TOTP: the QR code and the secret as text; a code from it finishes the registration
      await page.waitForSelector(shown('[data-reg-step="totp"]'));
      expect(await page.$('[data-totp-qr] svg')).to.not.equal(null);
      const secret = await totpSecret(page);
      expect(secret).to.match(/^[A-Z2-7]{16,}$/);
      const codes = new TotpCodes(secret);
      await page.fill('#reg-totp-code', await codes.next());
      await expectNoProblems(tab);
      await page.click('[data-reg-finish]');

      await page.waitForURL((u) => u.pathname === '/');
      expect(await page.getAttribute('body', 'data-page')).to.equal('dashboard');
      await expectUnlocked(page);
      expect(await page.textContent('[data-user-name]')).to.match(/\balice\b[\s\S]*admin/);
      await page.waitForSelector('[data-fingerprint][data-fingerprint-hex]');
      await expectNoProblems(tab);
    } finally {
      await context.close();
    }
  });

  it('registers a member from a link made by the admin command line, and that link then shows it was used', async () => {
    const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'admin', '--', 'invite', 'create', '--json'], {
      cwd: root,
      env: {
        ...process.env,
        HEIRLOOM_DATA_DIR: t.dataDir,
        HEIRLOOM_BASE_URL: base,
        // the same cost as the running test server, as a real admin's CLI reads the server's own settings
        HEIRLOOM_KDF_MEM_MIB: String(t.config.kdfMemMiB),
      },
    });
    const invitation = JSON.parse(stdout) as { url: string; isAdmin: boolean };
    expect(invitation.isAdmin).to.equal(false);
    expect(invitation.url.startsWith(`${base}/register#`)).to.equal(true);

    let bob: Person | undefined;
    const context = await browser.newContext();
    try {
      const tab = await openPage(context);
      await tab.page.goto(invitation.url);
      await tab.page.waitForSelector(shown('[data-reg-step="account"]'));
      expect(await tab.page.textContent('[data-reg-heading]')).to.equal('Create your account');
      bob = await finishRegistration(tab.page, 'bob', 'marble kettle autumn river');
      expect(await tab.page.textContent('[data-user-name]')).to.match(/\bbob\b/);
      expect(await tab.page.textContent('[data-user-name]')).to.not.match(/admin/);
      await expectNoProblems(tab);
    } finally {
      await context.close();
    }

    // bob, still logged in, opens a fresh invitation in his own browser: he is offered to log out first,
    // not shown a locked vault or a form that would mix two accounts
    const fresh = await t.services.registration.createInvitation({ isAdmin: false });
    const again = await browser.newContext();
    try {
      const tab = await openPage(again);
      if (!bob) throw new Error('bob was not registered');
      await logIn(tab.page, bob, base);
      await tab.page.goto(fresh.url);
      await tab.page.waitForSelector(shown('[data-reg-step="signed-in"]'));
      expect(await tab.page.textContent('[data-reg-step="signed-in"]')).to.contain('logged in as bob');
      expect(await tab.page.isHidden('[data-reg-step="account"]')).to.equal(true);
      await tab.page.click('[data-reg-logout]');
      await tab.page.waitForSelector(shown('[data-reg-step="account"]'));
      expect(await tab.page.$('[data-user-name]')).to.equal(null);
      await expectNoProblems(tab);
    } finally {
      await again.close();
    }

    // someone else (not logged in) opening the link again
    const other = await browser.newContext();
    try {
      const used = await openPage(other);
      await used.page.goto(invitation.url);
      await used.page.waitForSelector(shown('[data-reg-step="invalid"]'));
      const token = decodeURIComponent(new URL(invitation.url).hash.slice(1));
      const server = await serverMessage(token);
      expect(server).to.include({ status: 410, error: 'invite_used' });
      expect(await used.page.textContent('[data-reg-invalid-title]')).to.equal('This invitation has already been used');
      expect(await used.page.textContent('[data-reg-invalid-message]')).to.equal(server.message);
      expect(await used.page.isHidden('[data-reg-step="account"]')).to.equal(true);
      await expectNoProblems(used);
    } finally {
      await other.close();
    }
  });

  it('shows a forged link the clear invalid page with the server’s message', async () => {
    const token = randomBytes(32).toString('base64url');
    const context = await browser.newContext();
    try {
      const tab = await openPage(context);
      await tab.page.goto(`${base}/register#${token}`);
      await tab.page.waitForSelector(shown('[data-reg-step="invalid"]'));
      const server = await serverMessage(token);
      expect(server).to.include({ status: 404, error: 'invite_not_found' });
      expect(await tab.page.textContent('[data-reg-invalid-title]')).to.equal("We don't recognise this invitation");
      expect(await tab.page.textContent('[data-reg-invalid-message]')).to.equal(server.message);
      expect(await tab.page.isHidden('[data-reg-step="account"]')).to.equal(true);
      await expectNoProblems(tab);
    } finally {
      await context.close();
    }
  });
});

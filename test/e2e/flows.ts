/**
 * What a person does in the pages, shared by the browser tests: open a watched page, register, log in.
 * Selectors are the data attributes the page controllers use (client/pages/*.ts).
 */
import { expect } from 'chai';
import type { BrowserContext, Page } from 'playwright-core';
import { TotpCodes } from '../helpers/totp.js';
import { watchPage } from './browser.js';

/** A step, message or overlay that is shown: the pages toggle the `hidden` attribute. */
export const shown = (selector: string) => `${selector}:not([hidden])`;

/** Argon2id runs in the page (64 MiB in tests): give key derivation more than playwright's default. */
export const DERIVE_MS = 30_000;

export interface Person {
  username: string;
  password: string;
  codes: TotpCodes;
}

/** A member registered through the API (newMember), as the person who logs in in the browser. */
export function personOf(member: { username: string; password: string; client: { totpSecret: string; lastStep: number } }): Person {
  return { username: member.username, password: member.password, codes: new TotpCodes(member.client.totpSecret, member.client.lastStep) };
}

export interface WatchedPage {
  page: Page;
  /** CSP violations and page errors seen so far on this tab */
  violations: () => Promise<string[]>;
}

export async function openPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const { violations } = await watchPage(page);
  return { page, violations };
}

export async function expectNoProblems(tab: WatchedPage): Promise<void> {
  expect(await tab.violations(), 'CSP violations or page errors').to.deep.equal([]);
}

/** The unlocked keys this tab keeps in sessionStorage (null when locked). */
export const storedKeys = (page: Page) => page.evaluate(() => sessionStorage.getItem('heirloom.keys'));

/** Shown content, hidden lock screen, keys in this tab: what "unlocked" means on a logged-in page. */
export async function expectUnlocked(page: Page): Promise<void> {
  await page.waitForSelector(shown('[data-vault-content]'), { timeout: DERIVE_MS });
  expect(await page.isHidden('[data-unlock]'), 'lock screen hidden').to.equal(true);
  expect(await storedKeys(page), 'keys in sessionStorage').to.be.a('string').and.not.equal('');
}

/**
 * The login page wipes the keys of whoever used the tab before, once its script has run (which can be after
 * the load event playwright waits for): wait for it, and fail if it does not happen.
 */
export async function expectKeysWiped(page: Page): Promise<void> {
  await page.waitForFunction(() => sessionStorage.getItem('heirloom.keys') === null, undefined, { timeout: 5_000 });
}

export async function expectLocked(page: Page): Promise<void> {
  await page.waitForSelector(shown('[data-unlock]'));
  expect(await page.isHidden('[data-vault-content]'), 'content hidden').to.equal(true);
  expect(await storedKeys(page), 'keys in sessionStorage').to.equal(null);
}

/** Password step on the login page already open; resolves when the code step is shown. */
export async function passwordStep(page: Page, username: string, password: string): Promise<void> {
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('[data-login-submit]');
  await page.waitForSelector(shown('[data-login-totp-form]'), { timeout: DERIVE_MS });
}

/**
 * Logs in from the login page already open (or `base/login` when given) and waits for the page it goes to,
 * unlocked. Returns that page's path.
 */
export async function logIn(page: Page, who: Person, base?: string): Promise<string> {
  if (base) await page.goto(`${base}/login`);
  await passwordStep(page, who.username, who.password);
  await page.fill('#login-code', await who.codes.next());
  await page.click('[data-login-totp-submit]');
  await page.waitForURL((u) => u.pathname !== '/login', { timeout: DERIVE_MS });
  await expectUnlocked(page);
  return new URL(page.url()).pathname;
}

/** The whole registration through the pages, with no detours. Ends on the dashboard, unlocked. */
export async function register(page: Page, inviteUrl: string, username: string, password: string): Promise<Person> {
  await page.goto(inviteUrl);
  return finishRegistration(page, username, password);
}

/** Registration from the account step of an invitation page already open. */
export async function finishRegistration(page: Page, username: string, password: string): Promise<Person> {
  await registerUpToCode(page, username, password);
  const codes = new TotpCodes(await totpSecret(page));
  await page.fill('#reg-totp-code', await codes.next());
  await page.click('[data-reg-finish]');
  await page.waitForURL((u) => u.pathname === '/');
  await expectUnlocked(page);
  return { username, password, codes };
}

/**
 * The registration steps up to the authenticator step of an invitation page already open: account, the kit
 * (whose 24 words it returns) and the words typed back.
 */
export async function registerUpToCode(page: Page, username: string, password: string): Promise<string[]> {
  await page.waitForSelector(shown('[data-reg-step="account"]'));
  await page.fill('#reg-username', username);
  await page.fill('#reg-password', password);
  await page.fill('#reg-password-confirm', password);
  await page.click('[data-reg-account-submit]');
  await page.waitForSelector(shown('[data-reg-step="kit"]'), { timeout: DERIVE_MS });
  const words = await kitWords(page);
  await page.click('[data-kit-continue]');
  await page.waitForSelector(shown('[data-reg-step="confirm"]'));
  for (const input of await page.$$('[data-confirm-word]')) {
    await input.fill(words[Number(await input.getAttribute('data-confirm-word')) - 1] ?? '');
  }
  await page.click('[data-reg-confirm-submit]');
  await page.waitForSelector(shown('[data-reg-step="totp"]'));
  return words;
}

export const kitWords = (page: Page) =>
  page.$$eval('[data-kit-words] [data-kit-word] .kit__word', (els) => els.map((e) => (e.textContent ?? '').trim()));

/** The TOTP secret as the page shows it for typing into an app (grouped in fours). */
export async function totpSecret(page: Page): Promise<string> {
  return ((await page.textContent('[data-totp-secret]')) ?? '').replace(/\s+/g, '');
}

import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember } from '../helpers/client.js';
import { launch } from './browser.js';
import { expectNoProblems, expectUnlocked, openPage, passwordStep, personOf } from './flows.js';

/**
 * `/login?next=…` after a real login in Chromium (issue 8, item 3): the page may only go to a path on this
 * site. Each case is the query string as an attacker would put it in a link.
 */
const ATTACKS = [
  'next=%2F.%2F%2Fevil.example%2F', // "/.//evil.example/": the URL parser drops "/." and leaves "//evil.example/"
  'next=/.\\/evil.example/',
  'next=/..\\/evil.example/',
  'next=/%2e%2e//evil.example/', // the query decodes to "/..//evil.example/"
  'next=%2F%252e%252e%2F%2Fevil.example%2F', // the value itself is "/%2e%2e//evil.example/"
  'next=/a/..//evil.example/',
  'next=//evil.example/',
  'next=/%5Cevil.example/', // "/\evil.example/"
  'next=https://evil.example/',
  'next=%2F%252F%252Fevil.example%2F', // "/%2F%2Fevil.example/": "//" once decoded again
  'next=/%09/evil.example/', // a tab, which the URL parser removes
];

describe('where the login page goes afterwards (?next=)', function () {
  this.timeout(120_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let people = 0;

  before(async () => {
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /**
   * Registers someone new (a TOTP step is usable once per person, so each login gets its own person), logs in
   * at `/login?<query>` and returns the URL of the first page the browser asked for after the code step, and
   * every request that left this site. Requests to other hosts are aborted, so nothing ever reaches them.
   */
  async function loginWith(query: string): Promise<{ target: URL; foreign: string[]; finalUrl: URL }> {
    const member = await newMember(t.app, t.services, `next${++people}`, 'quiet orchard lantern 47');
    const person = personOf(member);
    const context = await browser.newContext();
    try {
      const foreign: string[] = [];
      await context.route(
        (url) => url.origin !== base,
        (route) => {
          foreign.push(route.request().url());
          return route.abort();
        },
      );
      const tab = await openPage(context);
      const { page } = tab;
      await page.goto(`${base}/login?${query}`);
      await passwordStep(page, person.username, person.password);
      const navigated = new Promise<string>((resolve) => {
        page.on('request', (r) => {
          if (r.isNavigationRequest() && r.frame() === page.mainFrame()) resolve(r.url());
        });
      });
      await page.fill('#login-code', await person.codes.next());
      await page.click('[data-login-totp-submit]');
      const target = new URL(await navigated);
      if (target.origin === base) {
        await page.waitForURL((u) => u.pathname === target.pathname);
        await expectUnlocked(page);
        await expectNoProblems(tab);
      }
      return { target, foreign, finalUrl: new URL(page.url()) };
    } finally {
      await context.close();
    }
  }

  for (const query of ATTACKS) {
    it(`stays on this site and opens the dashboard after logging in at /login?${query}`, async () => {
      const { target, foreign, finalUrl } = await loginWith(query);
      expect(target.href, 'the page the browser went to').to.equal(`${base}/`);
      expect(finalUrl.origin).to.equal(base);
      expect(foreign, 'requests to other sites').to.deep.equal([]);
    });
  }

  it('still goes to a page on this site that the person asked for before logging in', async () => {
    const documents = await loginWith(`next=${encodeURIComponent('/documents')}`);
    expect(documents.target.href).to.equal(`${base}/documents`);
    const settings = await loginWith(`next=${encodeURIComponent('/settings?from=mail#sessions')}`);
    expect(settings.target.href).to.equal(`${base}/settings?from=mail`);
    expect(settings.finalUrl.href).to.equal(`${base}/settings?from=mail#sessions`);
    expect([...documents.foreign, ...settings.foreign]).to.deep.equal([]);
  });
});

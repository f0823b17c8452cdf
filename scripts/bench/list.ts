/**
 * The documents list page with 10,000 documents (issue: the encrypted document vault): how long the server
 * takes to produce the list, and how long the page takes to decrypt the names. `npm run bench -- list`.
 * Two vaults side by side: 10,000 documents of the person's own, and a mixed list as a family member has
 * it once sharing is used (issue: family sharing): 8,000 own, 1,000 shared with them by someone else, and
 * 1,000 that someone else added to a space they are both in, at its first load (nothing shared accepted
 * yet) and at later ones.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../../server/config.js';
import { openDataFolder } from '../../server/bootstrap.js';
import { createServices } from '../../server/app.js';
import { createLogger } from '../../server/logger.js';
import { TestClient } from '../../test/helpers/client.js';
import {
  blobSize,
  newDocKey,
  newSpaceKey,
  sealDocMeta,
  sealGrant,
  sealSpaceKey,
  sealSpaceName,
  toB64,
  wrapDocKeyForOwner,
  wrapDocKeyForSpace,
  type UnlockedKeys,
} from '../../client/crypto/index.js';
import { setUp, type Setup } from './documents.js';
import { median, percentile, table } from './shared.js';

type Kind = 'own' | 'shared' | 'space';

/** The mixed list: of every 10 documents, 8 own, 1 shared with the person, 1 in a space (newest first, interleaved). */
const mixedKind = (i: number): Kind => (i % 10 === 3 ? 'shared' : i % 10 === 7 ? 'space' : 'own');

/** Someone else of the family, registered through an invitation like anyone (their keys are real). */
async function anotherMember(s: Setup, username: string): Promise<{ userId: string; keys: UnlockedKeys }> {
  const config = loadConfig({ HEIRLOOM_DATA_DIR: s.dataDir });
  const data = await openDataFolder(config, { migrate: false });
  const services = createServices({ config, db: data.db, serverKey: data.serverKey, logger: createLogger('silent') });
  const invite = await services.registration.createInvitation({ isAdmin: false });
  await data.db.destroy();
  const client = new TestClient(s.url);
  const { res, account } = await client.register(invite.token, username, 'another benchmark passphrase');
  if (res.status !== 201 || !account) throw new Error(`registration of ${username} failed: ${res.status}`);
  return { userId: client.userId, keys: account.keys };
}

/**
 * Adds documents straight into the database (real envelopes, grants and space keys, as the pages make
 * them), as if added long ago. `kind(i)` says whose the i-th newest document is.
 */
async function seed(s: Setup, count: number, kind: (i: number) => Kind = () => 'own'): Promise<void> {
  const mixed = Array.from({ length: count }, (_, i) => kind(i)).some((k) => k !== 'own');
  const other = mixed ? await anotherMember(s, 'grandma') : null;
  const config = loadConfig({ HEIRLOOM_DATA_DIR: s.dataDir });
  const data = await openDataFolder(config, { migrate: false });
  const now = Date.now();
  const spaceId = randomUUID();
  const spaceKey = newSpaceKey();
  if (other) {
    // a space made by the other member, with the person added to it by them
    await data.db('spaces').insert({
      id: spaceId,
      name: toB64(sealSpaceName(spaceKey, spaceId, 1, 'Family')),
      name_generation: 1,
      generation: 1,
      created_by: other.userId,
      created_at: now,
      updated_at: now,
    });
    const keyRows = [];
    for (const [memberId, boxPk, role] of [
      [other.userId, other.keys.boxPk, 'manager'],
      [s.userId, s.keys.boxPk, 'member'],
    ] as const) {
      await data.db('space_members').insert({ space_id: spaceId, user_id: memberId, role, added_by: other.userId, added_at: now });
      const k = sealSpaceKey(spaceKey, spaceId, memberId, 1, boxPk, other.keys.signSk);
      keyRows.push({ space_id: spaceId, member_id: memberId, generation: 1, sealed: toB64(k.sealed), sig: toB64(k.sig), signer_id: other.userId, created_at: now });
    }
    await data.db('space_keys').insert(keyRows);
  }
  const rows = [];
  const grants = [];
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    const docKey = newDocKey();
    const meta = { name: `Scan ${String(i).padStart(5, '0')} of the family archive.pdf`, type: 'application/pdf', size: 100_000 + i, modified: now - i * 60_000, tags: i % 7 === 0 ? ['taxes'] : ['archive'] };
    const k = kind(i);
    const owner = k === 'own' || !other ? { userId: s.userId, keys: s.keys } : other;
    rows.push({
      id,
      owner_id: owner.userId,
      size: blobSize(meta.size),
      meta: toB64(sealDocMeta(docKey, id, meta)),
      key_wrap: toB64(wrapDocKeyForOwner(owner.keys.accountKey, docKey, id, owner.userId)),
      created_at: now - i * 60_000,
      updated_at: now - i * 60_000,
      deleted_at: null,
      ...(k === 'space' ? { space_id: spaceId, space_generation: 1, space_key_wrap: toB64(wrapDocKeyForSpace(spaceKey, docKey, id, spaceId, 1)) } : {}),
    });
    if (k === 'shared' && other) {
      const g = sealGrant(docKey, id, s.userId, s.keys.boxPk, other.keys.signSk);
      grants.push({ document_id: id, recipient_id: s.userId, sharer_id: other.userId, sealed: toB64(g.sealed), sig: toB64(g.sig), created_at: now });
    }
  }
  for (let i = 0; i < rows.length; i += 500) await data.db('documents').insert(rows.slice(i, i + 500));
  for (let i = 0; i < grants.length; i += 500) await data.db('grants').insert(grants.slice(i, i + 500));
  await data.db.destroy();
}

/** Forgets every accepted grant (as before the person's first load): the next load opens them one by one. */
async function forgetAccepted(s: Setup): Promise<void> {
  const data = await openDataFolder(loadConfig({ HEIRLOOM_DATA_DIR: s.dataDir }), { migrate: false });
  try {
    await data.db('grants').update({ recipient_wrap: null });
  } finally {
    await data.db.destroy();
  }
}

/**
 * `first`: every load is the person's first with these grants (they are forgotten before it, and the load's
 * acceptance is waited for); otherwise the loads come after a first one that accepted them.
 */
async function listPage(s: Setup, first = false) {
  if (!first && (await hasGrants(s))) {
    // a first load, not measured, that accepts the grants
    await forgetAccepted(s);
    await pageLoad(s, true);
  }
  const times: number[] = [];
  const renders: number[] = [];
  const cpu0 = cpuMsOf(s.pid);
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    const res = await s.client.agent.get('/documents');
    if (res.status !== 200) throw new Error(`list page: ${res.status}`);
    times.push(performance.now() - t0);
    renders.push(Number(/render;dur=([\d.]+)/.exec(String(res.headers['server-timing']))?.[1]));
  }
  const serverCpu = (cpuMsOf(s.pid) - cpu0) / 40;
  const decrypt: number[] = [];
  const others: number[] = [];
  const ownReady: number[] = [];
  const allReady: number[] = [];
  let bytes = 0;
  let rows = 0;
  for (let i = 0; i < 3; i++) {
    if (first) await forgetAccepted(s);
    await pageLoad(s, first);
    await s.page.waitForFunction(() => performance.getEntriesByName('heirloom:documents:ready').length > 0, undefined, { timeout: 120_000 });
    await s.page.waitForSelector('[data-docs-table][data-ready="true"]', { timeout: 120_000 });
    decrypt.push(Number(await s.page.getAttribute('[data-docs-table]', 'data-decrypt-ms')));
    rows = Number(await s.page.getAttribute('[data-docs-table]', 'data-all'));
    // from the page's own marks (client/pages/documents.ts): unlocked → own rows shown → every row shown
    // (no functions declared inside: tsx would name them with a helper the page does not have)
    const marks = await s.page.evaluate(() =>
      ['heirloom:documents:unlocked', 'heirloom:documents:own-ready', 'heirloom:documents:ready', 'heirloom:documents:others'].map((name) => {
        const e = performance.getEntriesByName(name)[0];
        return e ? (e.entryType === 'measure' ? e.duration : e.startTime) : NaN;
      }),
    );
    const [unlocked = NaN, ownAt = NaN, allAt = NaN, othersMs = NaN] = marks;
    ownReady.push(ownAt - unlocked);
    allReady.push(allAt - unlocked);
    others.push(Number.isNaN(othersMs) ? 0 : othersMs);
    bytes = Number(await s.page.evaluate(() => document.documentElement.outerHTML.length));
  }
  return {
    p50: percentile(renders, 50),
    p95: percentile(renders, 95),
    fullP95: percentile(times, 95),
    serverCpu,
    decrypt: median(decrypt),
    others: median(others),
    ownReady: median(ownReady),
    allReady: median(allReady),
    rows,
    htmlMB: bytes / 1e6,
  };
}

/** Whether the person has anything shared with them (then a first load posts its acceptance). */
async function hasGrants(s: Setup): Promise<boolean> {
  const data = await openDataFolder(loadConfig({ HEIRLOOM_DATA_DIR: s.dataDir }), { migrate: false });
  try {
    return (await data.db('grants').first('document_id')) !== undefined;
  } finally {
    await data.db.destroy();
  }
}

/** Opens the list page; `accepting`: waits until the page has handed the server its accepted grants. */
async function pageLoad(s: Setup, accepting: boolean): Promise<void> {
  const accepted = accepting ? s.page.waitForResponse((r) => r.url().endsWith('/api/grants/accept'), { timeout: 120_000 }) : null;
  await s.page.goto(`${s.url}/documents`);
  await s.page.waitForFunction(() => performance.getEntriesByName('heirloom:documents:ready').length > 0, undefined, { timeout: 120_000 });
  if (accepted && (await accepted).status() !== 200) throw new Error('the page could not accept the grants');
}

type ListFigures = Awaited<ReturnType<typeof listPage>>;

/**
 * One vault of `count` documents, seeded, measured, and removed: the page as the person's first load opens
 * it (shared documents one by one, signatures checked) and as later loads do (accepted grants in the batch).
 */
async function measure(browser: Browser, count: number, kind?: (i: number) => Kind): Promise<{ first: ListFigures; later: ListFigures }> {
  const s = await setUp(browser);
  try {
    await seed(s, count, kind);
    const first = kind ? await listPage(s, true) : null;
    const later = await listPage(s);
    return { first: first ?? later, later };
  } finally {
    await s.stop();
  }
}

/**
 * CPU time a process has used, from /proc (clock ticks of 10 ms: read over many requests). Unlike the
 * wall-clock figures it hardly changes when other programs load the machine.
 */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function listBenchmarks(browser: Browser): Promise<string> {
  const own = (await measure(browser, 10_000)).later;
  const mixed = await measure(browser, 10_000, mixedKind);
  const ms = (x: number, digits = 1) => `${x.toFixed(digits)} ms`;
  const row = (what: string, f: (l: ListFigures) => string, goal = '') => [what, f(own), f(mixed.first), f(mixed.later), goal];
  let out = '';
  out += '\nThe documents page with 10,000 documents: all the person\'s own, and mixed (8,000 own, 1,000 shared with them, 1,000 in a space)\n';
  out += 'mixed, first load: the shared ones opened one by one (signatures checked), then accepted; later loads: accepted ones open with the own ones\n';
  out += table(
    ['what', 'own only', 'mixed, first load', 'mixed, later loads', 'goal'],
    [
      row('documents listed (rows in the page)', (l) => l.rows.toLocaleString('en')),
      row('server render (queries + template, Server-Timing), p50 of 40', (l) => ms(l.p50)),
      row('server render (queries + template, Server-Timing), p95 of 40', (l) => ms(l.p95), '≤ 50 ms'),
      row('whole response received over loopback, p95 of 40', (l) => ms(l.fullP95)),
      row('server CPU per page load (the whole request, sending included), mean of 40', (l) => ms(l.serverCpu)),
      row('decrypting 10,000 names in the page (median of 3)', (l) => ms(l.decrypt, 0), '≤ 500 ms'),
      row('  of which others\' documents, after the own batch (median of 3)', (l) => ms(l.others, 0)),
      row('unlocked → own rows shown (median of 3)', (l) => ms(l.ownReady, 0)),
      row('unlocked → every row shown, family keys loaded (median of 3)', (l) => ms(l.allReady, 0)),
      row('page size', (l) => `${l.htmlMB.toFixed(1)} MB`),
    ],
  );
  return out;
}

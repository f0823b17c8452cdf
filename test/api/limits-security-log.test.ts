import path from 'node:path';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { startTestServer } from '../helpers/server.js';
import { TestClient, newMember } from '../helpers/client.js';
import { filesUnder } from '../helpers/secrets.js';
import { tempDir } from '../helpers/restore.js';
import { migrationConfig, openDb } from '../../server/db/connection.js';
import { ready } from '../../client/crypto/index.js';

describe('the security log and a password typed into the username field', () => {
  it('keeps only a keyed hash of a name nobody has: the typed text is nowhere on disk, in the log or in what the owner sees', async () => {
    await ready();
    const t = await startTestServer();
    try {
      const m = await newMember(t.app, t.services, 'zoe');
      // what a person types when the cursor was in the wrong field: their password (already lowercase, as
      // the server would store it)
      const typed = 'marker-my-secret-pass-5e1d';
      for (const c of [new TestClient(t.app), new TestClient(t.app)]) {
        const r = await c.passwordStep(typed, 'whatever');
        expect(r.status).to.equal(401);
      }
      await m.client.anotherDevice().passwordStep('zoe', 'a wrong password');

      const rows = await t.db('audit_events').where({ event: 'login_failed' }).orderBy('id');
      const unknown = rows.filter((r) => r.user_id === null);
      expect(unknown).to.have.length(2);
      // the same typed name gives the same tag, so repeated tries still show up as one name being tried
      const tags = unknown.map((r) => JSON.parse(r.detail).nameTag);
      expect(tags[0]).to.be.a('string').and.match(/^[A-Za-z0-9_-]{22}$/);
      expect(tags[1]).to.equal(tags[0]);

      const owners = await t.services.audit.forUser(m.client.userId);
      expect(owners.map((e) => e.event)).to.include('login_failed');

      await t.db.raw('PRAGMA wal_checkpoint(FULL)');
      const places = [...filesUnder(t.dataDir).map((f) => ({ f, text: readFileSync(f).toString('latin1') })), { f: 'log', text: t.logs() }];
      for (const { f, text } of places) expect(text.includes(typed), `typed name found in ${path.basename(f)}`).to.equal(false);
      expect(JSON.stringify(owners)).to.not.include(typed);
    } finally {
      await t.close();
    }
  });

  it('removes typed names that older versions stored when the database is upgraded', async () => {
    const folder = tempDir('audit-migration');
    const db = openDb(path.join(folder.dir, 'm.sqlite'));
    try {
      // every migration before the one that clears them
      // our migration source (db/connection.ts) names each migration by its .ts file name
      const [, pending] = (await db.migrate.list(migrationConfig)) as [unknown, string[]];
      const target = pending.findIndex((name) => name.endsWith('_login_limits.ts'));
      expect(target).to.be.greaterThan(0);
      for (let i = 0; i < target; i++) await db.migrate.up(migrationConfig);
      await db('audit_events').insert([
        { user_id: null, event: 'login_failed', ip: '192.0.2.9', detail: JSON.stringify({ username: 'marker-typed-pw' }), created_at: 1 },
        { user_id: null, event: 'registered', ip: null, detail: JSON.stringify({ kept: true }), created_at: 2 },
      ]);
      await db.migrate.up(migrationConfig);
      const rows = await db('audit_events').orderBy('id');
      expect(rows.map((r) => [r.event, r.ip, r.detail])).to.deep.equal([
        ['login_failed', '192.0.2.9', null],
        ['registered', null, JSON.stringify({ kept: true })],
      ]);
    } finally {
      await db.destroy();
      folder.remove();
    }
  });
});

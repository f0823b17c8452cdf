import { expect } from 'chai';
import type { Express } from 'express';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, newMember } from '../helpers/client.js';
import { startServerOn, tempDir } from '../helpers/restore.js';
import { derivePasswordKeys, ready, toB64 } from '../../client/crypto/index.js';
import type { Clock } from '../../server/clock.js';
import { ServerCrypto } from '../../server/auth/serverCrypto.js';
import { RateLimits } from '../../server/services/rateLimits.js';
import { RateLimited } from '../../server/errors.js';

/** A client behind its own address (the server trusts X-Forwarded-For in these tests). */
class ClientAt extends TestClient {
  constructor(
    app: Express | string,
    readonly ip: string,
  ) {
    super(app);
  }

  override post(path: string, body: object = {}) {
    return super.post(path, body).set('X-Forwarded-For', this.ip);
  }

  override get(path: string) {
    return super.get(path).set('X-Forwarded-For', this.ip);
  }
}

/** The owner's phone on a device at `ip`: same authenticator app as the account's first client. */
function ownerAt(t: TestServer, owner: TestClient, ip: string): ClientAt {
  const c = new ClientAt(t.app, ip);
  c.phone = owner.phone;
  return c;
}

class TestClock implements Clock {
  constructor(private t = Date.UTC(2026, 10, 30, 12)) {}
  now() {
    return this.t;
  }
  advance(seconds: number) {
    this.t += seconds * 1000;
  }
}

// b64 of 32 bytes: the shape of an authKey, but nobody's
const wrongKey = Buffer.from(new Uint8Array(32).fill(9)).toString('base64url');
const trustProxy = { HEIRLOOM_TRUST_PROXY: 'true' };

async function wrongPasswords(c: ClientAt, username: string, n: number): Promise<number[]> {
  if (!c.csrf) await c.open();
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await c.post('/api/auth/password', { username, authKey: wrongKey })).status);
  return statuses;
}

describe('login limits: a stranger cannot lock the owner out', () => {
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer({ env: trustProxy });
  });
  after(() => t.close());

  it('lets the owner log in from their own address while a stranger hammers the account from another', async () => {
    const m = await newMember(t.app, t.services, 'olive');
    const stranger = new ClientAt(t.app, '203.0.113.9');
    const statuses = await wrongPasswords(stranger, 'olive', 15);
    expect(statuses.slice(0, 10)).to.deep.equal(Array(10).fill(401));
    expect(statuses.slice(10)).to.deep.equal(Array(5).fill(429));

    const owner = ownerAt(t, m.client, '198.51.100.7');
    const keys = await owner.login('olive', m.password);
    expect(keys.accountKey).to.have.length(32);
    // and the stranger is still refused
    expect(await wrongPasswords(stranger, 'olive', 1)).to.deep.equal([429]);
  });

  it('never applies the login lockout to unlock or password change inside the owner’s session', async () => {
    const m = await newMember(t.app, t.services, 'oscar');
    const owner = ownerAt(t, m.client, '198.51.100.20');
    await owner.login('oscar', m.password);
    // the stranger even shares the owner's address (a family's one home connection)
    const stranger = new ClientAt(t.app, '198.51.100.20');
    expect((await wrongPasswords(stranger, 'oscar', 11)).at(-1)).to.equal(429);

    const kdf = (await owner.get('/api/vault/kdf')).body.kdf;
    const authKey = toB64(derivePasswordKeys(m.password, kdf).authKey);
    const unlock = await owner.post('/api/vault/unlock', { authKey });
    expect(unlock.status).to.equal(200);
    expect(unlock.body.keys.boxPk).to.be.a('string');
    // a wrong current password is an ordinary 401 (checked), not the login's 429
    const change = await owner.post('/api/account/password', {
      currentAuthKey: wrongKey,
      newAuthKey: authKey,
      newKdf: kdf,
      newPasswordWrappedAccountKey: toB64(new Uint8Array(73)),
    });
    expect(change.status).to.equal(401);
  });

  it('counts each attempt before checking it, so parallel guesses cannot get past the limit', async () => {
    await newMember(t.app, t.services, 'petra');
    const c = new ClientAt(t.app, '203.0.113.50');
    await c.open();
    const answers = await Promise.all(Array.from({ length: 25 }, () => c.post('/api/auth/password', { username: 'petra', authKey: wrongKey })));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).to.have.length(10);
    expect(statuses.filter((s) => s === 429)).to.have.length(15);
  });
});

describe('login limits: the account-wide cap and its back-off', () => {
  let t: TestServer;
  const clock = new TestClock();
  before(async () => {
    await ready();
    t = await startTestServer({
      env: trustProxy,
      clock,
      rateLimits: { pairFailures: 3, accountFailures: 5, backoffSeconds: 1, maxBackoffSeconds: 4 },
    });
  });
  after(() => t.close());

  it('keeps the owner’s known client working when guesses come from many addresses, and makes new clients wait longer each time', async () => {
    const m = await newMember(t.app, t.services, 'quinn');
    const home = ownerAt(t, m.client, '198.51.100.30');
    await home.login('quinn', m.password);
    await home.post('/logout');

    // 3 + 3 guesses from two addresses: the sixth is past the account's cap of 5 and starts the back-off
    expect(await wrongPasswords(new ClientAt(t.app, '203.0.113.1'), 'quinn', 3)).to.deep.equal([401, 401, 401]);
    expect(await wrongPasswords(new ClientAt(t.app, '203.0.113.2'), 'quinn', 3)).to.deep.equal([401, 401, 401]);
    const third = new ClientAt(t.app, '203.0.113.3');
    await third.open();
    const waited = await third.post('/api/auth/password', { username: 'quinn', authKey: wrongKey });
    expect(waited.status).to.equal(429);
    expect(waited.headers['retry-after']).to.equal('1');

    // the owner at home is not held up at all
    const again = ownerAt(t, m.client, '198.51.100.30');
    await again.login('quinn', m.password);

    // the owner on a new network waits the back-off like everyone else, and it grows
    const away = ownerAt(t, m.client, '192.0.2.44');
    await away.open();
    expect((await away.post('/api/auth/password', { username: 'quinn', authKey: wrongKey })).status).to.equal(429);
    clock.advance(1);
    expect((await third.post('/api/auth/password', { username: 'quinn', authKey: wrongKey })).status).to.equal(401);
    const longer = await away.post('/api/auth/password', { username: 'quinn', authKey: wrongKey });
    expect(longer.status).to.equal(429);
    expect(longer.headers['retry-after']).to.equal('2');
    clock.advance(2);
    // a refused attempt does not make the wait grow: after 2 seconds the owner's attempt is checked
    expect((await away.passwordStep('quinn', m.password)).status).to.equal(200);
  });

  it('lets an address try again when its window has passed, without anyone sleeping', async () => {
    const c = new ClientAt(t.app, '203.0.113.77');
    expect(await wrongPasswords(c, 'nobody-at-all', 4)).to.deep.equal([401, 401, 401, 429]);
    clock.advance(15 * 60);
    expect(await wrongPasswords(c, 'nobody-at-all', 1)).to.deep.equal([401]);
  });
});

describe('login limits: counting before checking', () => {
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer();
  });
  after(() => t.close());

  it('counts an attempt still being checked, so a database that answers late cannot let extra guesses through', async () => {
    // the service on the real database, with attempts held open as a slow (e.g. networked) database would
    const limits = new RateLimits(t.db, new ServerCrypto(new Uint8Array(32).fill(3)), { now: () => Date.now() }, { pairFailures: 3 });
    const inFlight = [await limits.loginAttempt('uma', '192.0.2.1'), await limits.loginAttempt('uma', '192.0.2.1'), await limits.loginAttempt('uma', '192.0.2.1')];
    let refused: unknown;
    await limits.loginAttempt('uma', '192.0.2.1').catch((err: unknown) => (refused = err));
    expect(refused).to.be.instanceOf(RateLimited);
    // one of them turns out right: its attempt is given back, and the next one may be checked
    await inFlight[0].succeeded();
    const next = await limits.loginAttempt('uma', '192.0.2.1');
    await Promise.all([inFlight[1].failed(), inFlight[2].failed(), next.failed()]);
    refused = undefined;
    await limits.loginAttempt('uma', '192.0.2.1').catch((err: unknown) => (refused = err));
    expect(refused).to.be.instanceOf(RateLimited);
  });
});

describe('login limits inside a logged-in session', () => {
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer({ rateLimits: { sessionFailures: 3, userFailures: 5 } });
  });
  after(() => t.close());

  it('limits wrong passwords per session, and across the user’s sessions so a stolen cookie gets few guesses', async () => {
    const m = await newMember(t.app, t.services, 'rhea');
    const first = m.client;
    const kdf = (await first.get('/api/vault/kdf')).body.kdf;
    const right = toB64(derivePasswordKeys(m.password, kdf).authKey);
    const unlockWith = (c: TestClient, authKey: string) => c.post('/api/vault/unlock', { authKey }).then((r) => r.status);

    for (let i = 0; i < 3; i++) expect(await unlockWith(first, wrongKey)).to.equal(401);
    expect(await unlockWith(first, wrongKey)).to.equal(429);
    expect(await unlockWith(first, right)).to.equal(429);

    // another session of the same person still unlocks; its wrong guesses add to the user's total
    const second = m.client.anotherDevice();
    await second.login('rhea', m.password);
    expect(await unlockWith(second, right)).to.equal(200);
    expect(await unlockWith(second, wrongKey)).to.equal(401);
    expect(await unlockWith(second, wrongKey)).to.equal(401);
    expect(await unlockWith(second, wrongKey)).to.equal(429);
    // and logging in is untouched by all of this
    expect((await m.client.anotherDevice().passwordStep('rhea', m.password)).status).to.equal(200);
  });
});

describe('login limits survive a restart', () => {
  it('still refuses an address and name that used up their attempts after the server restarts', async () => {
    await ready();
    const folder = tempDir('limits');
    try {
      const before = await startServerOn(folder.dir);
      const c = new TestClient(before.app);
      await c.open();
      for (let i = 0; i < 10; i++) {
        expect((await c.post('/api/auth/password', { username: 'sam', authKey: wrongKey })).status).to.equal(401);
      }
      await before.close();

      const after = await startServerOn(folder.dir);
      try {
        const d = new TestClient(after.app);
        await d.open();
        const r = await d.post('/api/auth/password', { username: 'sam', authKey: wrongKey });
        expect(r.status).to.equal(429);
        expect(Number(r.headers['retry-after'])).to.be.within(1, 15 * 60);
      } finally {
        await after.close();
      }
    } finally {
      folder.remove();
    }
  });
});

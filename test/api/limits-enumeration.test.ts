import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, newMember } from '../helpers/client.js';
import { ready } from '../../client/crypto/index.js';

const MiB = 1024 * 1024;

describe('pre-login answers do not tell who has an account', () => {
  let t: TestServer;
  let c: TestClient;
  before(async () => {
    await ready();
    // 40 names asked three times each: more look-ups than one address may make by default
    t = await startTestServer({ rateLimits: { ipLookups: 1000 } });
    c = new TestClient(t.app);
    await c.open();
  });
  after(() => t.close());

  const names = Array.from({ length: 40 }, (_, i) => `ghost-${i}`);

  it('answers unknown names with the settings real accounts use, even after the default changes', async () => {
    await newMember(t.app, t.services, 'vera');
    await newMember(t.app, t.services, 'walt');
    const old = await c.prelogin('vera');
    expect(old.ops).to.equal(3);

    // the family's admin raises the default for new accounts; existing accounts keep theirs
    t.config.kdfOps = 4;
    for (const name of names) {
      const fake = await c.prelogin(name);
      expect([fake.ops, fake.mem], name).to.deep.equal([old.ops, old.mem]);
    }

    // once an account with the new settings exists, unknown names show both, each name always the same one
    await newMember(t.app, t.services, 'xena');
    const costs = new Map<string, string>();
    for (const name of names) {
      const a = await c.prelogin(name);
      const b = await c.prelogin(name.toUpperCase());
      expect(b).to.deep.equal(a);
      expect([`3/${64 * MiB}`, `4/${64 * MiB}`]).to.include(`${a.ops}/${a.mem}`);
      costs.set(name, `${a.ops}/${a.mem}`);
    }
    // two accounts use the old settings, one the new: both appear among 40 names (all one: p < 1e-7)
    expect(new Set(costs.values()).size).to.equal(2);
  });

  it('gives a disabled account its real settings, so disabling and enabling it changes nothing', async () => {
    await newMember(t.app, t.services, 'yuri');
    const before = await c.prelogin('yuri');
    await t.services.admin.disable('yuri');
    expect(await c.prelogin('yuri')).to.deep.equal(before);
    await t.services.admin.enable('yuri');
    expect(await c.prelogin('yuri')).to.deep.equal(before);
  });
});

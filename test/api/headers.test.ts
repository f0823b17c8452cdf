import { expect } from 'chai';
import request from 'supertest';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The CSP header as a map of directive name to its sources. */
function csp(header: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of (header ?? '').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name, sources);
  }
  return out;
}

describe('security headers', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('lets workers start only from our own files, never from a blob: URL', async () => {
    const res = await request(t.app).get('/login');
    expect(csp(res.headers['content-security-policy']).get('worker-src')).to.deep.equal(["'self'"]);
  });

  it('allows frames only for blob: previews, so no page of ours can be framed inside another', async () => {
    const res = await request(t.app).get('/login');
    const policy = csp(res.headers['content-security-policy']);
    expect(policy.get('frame-src')).to.deep.equal(['blob:']);
    expect(policy.get('frame-ancestors')).to.deep.equal(["'none'"]);
  });

  it('refuses framing with X-Frame-Options DENY as well, for browsers without frame-ancestors', async () => {
    for (const url of ['/login', '/register', '/healthz', '/no-such-page']) {
      const res = await request(t.app).get(url);
      expect(res.headers['x-frame-options'], url).to.equal('DENY');
    }
  });

  it('keeps the login and registration pages out of every cache', async () => {
    for (const url of ['/login', '/register']) {
      const res = await request(t.app).get(url);
      expect(res.status, url).to.equal(200);
      expect(res.headers['cache-control'], url).to.equal('no-store');
    }
  });

  it('keeps the strict script rules: no inline scripts, no eval, no plugins, no base tag', async () => {
    const policy = csp((await request(t.app).get('/login')).headers['content-security-policy']);
    expect(policy.get('script-src')).to.deep.equal(["'self'", "'wasm-unsafe-eval'"]);
    expect(policy.get('object-src')).to.deep.equal(["'none'"]);
    expect(policy.get('base-uri')).to.deep.equal(["'none'"]);
  });
});

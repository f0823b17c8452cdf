import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { openDataFolder } from '../../server/bootstrap.js';
import { createApp, type Services } from '../../server/app.js';
import type { Db } from '../../server/db/connection.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, TestClient } from '../helpers/client.js';
import { filler, makeDocument, upload } from '../helpers/documents.js';
import { ready } from '../../client/crypto/index.js';

/** One method and path as the Express router knows it, with its :params. */
interface Route {
  method: string;
  path: string;
}

const ALL_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  rawPath?: unknown;
}

/**
 * Every route the app serves, found by walking Express's router (sub-routers included), so a route added
 * later is covered without anyone listing it here.
 */
function routesOf(app: Express): Route[] {
  const found: Route[] = [];
  const walk = (stack: RouterLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        const methods = Object.keys(layer.route.methods).flatMap((m) => (m === '_all' ? ALL_METHODS : [m]));
        for (const p of paths) for (const method of methods) found.push({ method, path: prefix + p });
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack, '');
  return found;
}

/** Field names the API reads anywhere; each malformed body fills them with the wrong thing. */
const FIELDS = [
  'token', 'username', 'authKey', 'code', 'totpCode', 'currentAuthKey', 'newAuthKey', 'newKdf', 'kdf',
  'newPasswordWrappedAccountKey', 'passwordWrappedAccountKey', 'encPrivateKeys', 'boxPk', 'signPk',
  'recoveryWrappedAccountKey', 'recoveryAuthPk', 'selfSignature', 'meta', 'keyWrap', 'view', 'next',
];

const fill = (value: (i: number) => unknown) => Object.fromEntries(FIELDS.map((f, i) => [f, value(i)]));
const WRONG_TYPES = [42, -1, 1e308, true, null, [], ['a'], {}, { $ne: '' }, '', 0.5];

interface Malformed {
  name: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  query?: string;
  /** leave out the session's CSRF token */
  noCsrf?: boolean;
}

const json = { 'Content-Type': 'application/json' };
const deep = `{"meta":${'['.repeat(20000)}${']'.repeat(20000)},"token":${'{"a":'.repeat(4000)}1${'}'.repeat(4000)}}`;
/** Malformed requests that differ only in their body: GET and HEAD send none, so they skip these. */
const MALFORMED_BODIES: Malformed[] = [
  { name: 'wrong types', headers: json, body: JSON.stringify(fill((i) => WRONG_TYPES[i % WRONG_TYPES.length])) },
  { name: 'a JSON array', headers: json, body: JSON.stringify([fill(() => 'x')]) },
  { name: 'deep nesting', headers: json, body: deep },
  {
    name: '__proto__ and constructor keys',
    headers: json,
    body: '{"__proto__":{"isAdmin":true,"polluted":1},"constructor":{"prototype":{"polluted":1}},"token":{"__proto__":{"length":5}},"username":"__proto__","meta":"__proto__"}',
  },
  { name: 'bad base64', headers: json, body: JSON.stringify({ ...fill(() => '!!not*base64==='), kdf: { alg: 'argon2id13', ops: 3, mem: 1, salt: '%%%' } }) },
  { name: 'huge fields', headers: json, body: JSON.stringify(fill(() => 'A'.repeat(2800))) },
  { name: 'a body over the size limit', headers: json, body: JSON.stringify({ meta: 'A'.repeat(200_000) }) },
  { name: 'JSON cut short', headers: json, body: '{"token": "abc' },
  { name: 'XML', headers: { 'Content-Type': 'application/xml' }, body: '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>' },
  { name: 'a multipart body that is not one', headers: { 'Content-Type': 'multipart/form-data; boundary=zz' }, body: '--zz\r\nbroken' },
];
/** Malformed requests every method gets. */
const MALFORMED_ANY: Malformed[] = [
  { name: 'no body' },
  { name: 'bad percent-encoding in form and query', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=%E0%A4%A&username=%&_csrf=%zz', query: 'view=%E0%A4%A&next=%' },
  { name: 'query arrays and prototype keys', query: 'view=trash&view=all&view[]=x&__proto__[polluted]=1&constructor[prototype][polluted]=1' },
  { name: 'JSON in an unknown charset', headers: { 'Content-Type': 'application/json; charset=utf-7' }, body: '{"token":"a"}' },
  { name: 'a gzip body that is not gzip', headers: { ...json, 'Content-Encoding': 'gzip' }, body: Buffer.from('not gzip at all') },
  {
    name: 'junk tus headers',
    headers: {
      'Tus-Resumable': '1.0.0',
      'Upload-Length': '-1',
      'Upload-Offset': '99999999999999999999999',
      'Upload-Metadata': 'docId ###,meta,keyWrap a b',
      'Upload-Defer-Length': '1',
      'Upload-Concat': 'final;/api/uploads/a /api/uploads/b',
      'Content-Type': 'application/offset+octet-stream',
    },
    body: Buffer.alloc(32, 7),
  },
  { name: 'no CSRF token, asking for HTML', headers: { Accept: 'text/html' }, noCsrf: true, body: '' },
];

function malformedFor(method: string): Malformed[] {
  return method === 'get' || method === 'head' ? MALFORMED_ANY : [...MALFORMED_ANY, ...MALFORMED_BODIES];
}

/** Every combination of a path's params with the given values. */
function urlsOf(route: Route, values: string[]): string[] {
  const names = route.path.match(/:[A-Za-z_]+/g) ?? [];
  let urls = [route.path];
  for (const name of names) urls = urls.flatMap((u) => values.map((v) => u.replace(name, v)));
  return urls;
}

/** Params that cannot name anything: a route refuses them before it reads the body, so two requests do. */
const IMPLAUSIBLE = ['not-a-uuid', '%E0%A4%A', '..%2F..%2Fsecrets%2Fserver.key', encodeURIComponent('x'.repeat(3000))];

interface Answer {
  status: number;
  type: string;
  text: string;
}

async function send(c: TestClient, method: string, url: string, m: Malformed): Promise<Answer> {
  const target = m.query ? `${url}${url.includes('?') ? '&' : '?'}${m.query}` : url;
  const agent = c.agent as unknown as Record<string, (u: string) => import('supertest').Test>;
  let req = agent[method](target).timeout(10_000).set('Accept', 'application/json');
  if (!m.noCsrf && c.csrf) req = req.set('X-CSRF-Token', c.csrf);
  for (const [k, v] of Object.entries(m.headers ?? {})) req = req.set(k, v);
  if (m.body !== undefined && method !== 'get' && method !== 'head') req = req.send(m.body);
  try {
    const res = await req;
    return { status: res.status, type: String(res.headers['content-type'] ?? ''), text: res.text ?? '' };
  } catch (err) {
    const e = err as { response?: { status: number; headers: Record<string, string>; text?: string }; message?: string };
    if (e.response) return { status: e.response.status, type: String(e.response.headers['content-type'] ?? ''), text: e.response.text ?? '' };
    return { status: 0, type: '', text: `no answer: ${e.message}` };
  }
}

describe('every route survives malformed requests', function () {
  this.timeout(180_000);
  const logLines: string[] = [];
  let app: Express;
  let services: Services;
  let db: Db;
  let dataDir: string;

  before(async () => {
    await ready();
    // the app as the test helper makes it, but logging into memory, so every line is there when we look
    dataDir = mkdtempSync(path.join(tmpdir(), 'heirloom-fuzz-'));
    const config = loadConfig({ HEIRLOOM_DATA_DIR: dataDir, HEIRLOOM_PORT: '0', HEIRLOOM_KDF_MEM_MIB: '64', HEIRLOOM_LOG_LEVEL: 'debug' });
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    const data = await openDataFolder(config);
    db = data.db;
    ({ app, services } = createApp({ config, db, serverKey: data.serverKey, logger: createLogger(config.logLevel, sink) }));
  });
  after(async () => {
    await db.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finds the routes of every area in the router', () => {
    const listed = routesOf(app).map((r) => `${r.method} ${r.path}`);
    expect(listed).to.include.members([
      'get /healthz',
      'post /api/auth/password',
      'post /api/register/finish',
      'get /api/documents/:id/blob',
      'patch /api/uploads/:id',
      'post /settings/sessions/:id/end',
    ]);
  });

  it('answers every route’s malformed requests, logged in or not, without a 5xx or an error in the log', async () => {
    const member = await newMember(app, services, 'fuzzer');
    const doc = makeDocument(member.account.keys, member.client.userId, filler(100, 5));
    expect((await upload(member.client, doc)).status).to.equal(204);
    const stranger = new TestClient(app);
    await stranger.open('/login');

    // logging out ends the session the other requests use: it goes last
    const routes = routesOf(app).sort((a, b) => Number(a.path === '/logout') - Number(b.path === '/logout'));
    const problems: string[] = [];
    let requests = 0;
    const check = async (client: TestClient, who: string, method: string, url: string, m: Malformed) => {
      const res = await send(client, method, url, m);
      requests++;
      const where = `${method.toUpperCase()} ${url.slice(0, 80)} (${who}, ${m.name})`;
      if (res.status >= 500 || res.status === 0) problems.push(`${where}: ${res.status} ${res.text.slice(0, 200)}`);
      if (/^\/api(\/|$)/i.test(url) && res.status >= 400 && method !== 'head' && !/^application\/json\b/.test(res.type)) {
        problems.push(`${where}: ${res.status} labelled ${res.type || 'nothing'}`);
      }
      return res;
    };
    for (const [who, client] of [
      ['logged in', member.client],
      ['not logged in', stranger],
    ] as const) {
      for (const route of routes) {
        const all = malformedFor(route.method);
        // a real document and a fresh UUID get every malformed request; IDs that cannot exist get two
        for (const url of [...urlsOf(route, [doc.id]), ...urlsOf(route, [randomUUID()])].filter((u, i, a) => a.indexOf(u) === i)) {
          const first = await check(client, who, route.method, url, all[0]);
          // a route that wants a login stops there for a stranger, whatever the body: two more say so
          const rest = first.status === 401 ? all.slice(1, 3) : all.slice(1);
          for (const m of rest) await check(client, who, route.method, url, m);
        }
        if (route.path.includes(':')) {
          for (const url of urlsOf(route, IMPLAUSIBLE)) for (const m of all.slice(0, 2)) await check(client, who, route.method, url, m);
        }
      }
    }
    expect(problems, problems.slice(0, 30).join('\n')).to.deep.equal([]);
    expect(requests).to.be.greaterThan(500);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    const errors = logLines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
    expect(errors, errors.slice(0, 5).join('\n')).to.deep.equal([]);
  });
});

describe('errors under /api are JSON even before the app sees the request', function () {
  this.timeout(60_000);
  let t: TestServer;
  let base: URL;
  before(async () => {
    t = await startTestServer();
    base = new URL(await t.listen());
  });
  after(() => t.close());

  /** A raw HTTP request through a socket, for what an HTTP client library would refuse to send. */
  function raw(request: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(base.port), base.hostname);
      const parts: Buffer[] = [];
      socket.on('data', (d) => parts.push(d));
      socket.on('end', () => resolve(Buffer.concat(parts).toString('latin1')));
      socket.on('error', reject);
      socket.write(request);
    });
  }

  it('answers headers that are too large with 431 and a JSON sentence', async () => {
    const res = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = http.request(new URL('/api/documents', base), { headers: { 'X-Filler': 'x'.repeat(20_000) } }, (r) => {
        let body = '';
        r.on('data', (d) => (body += d));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, type: String(r.headers['content-type']), body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).to.equal(431);
    expect(res.type).to.match(/^application\/json\b/);
    expect(JSON.parse(res.body).error).to.equal('headers_too_large');
  });

  it('answers a request with a malformed header with 400 and a JSON sentence', async () => {
    const text = await raw('GET /api/documents HTTP/1.1\r\nHost: x\r\nBad Header Here\r\n\r\n');
    const [head, body] = text.split('\r\n\r\n');
    expect(head).to.match(/^HTTP\/1\.1 400 /);
    expect(head).to.match(/content-type: application\/json/i);
    expect(JSON.parse(body).error).to.equal('bad_request');
  });

  it('refuses an API request without its CSRF token with JSON, whatever it accepts and however the path is spelt', async () => {
    const c = new TestClient(t.app);
    await c.open('/login');
    for (const p of ['/api/auth/prelogin', '/API/auth/prelogin', '/Api/Documents/x/trash', '/api']) {
      for (const accept of ['text/html', '*/*', 'application/json']) {
        const res = await c.agent.post(p).set('Accept', accept).set('HX-Request', 'true').send({ username: 'x' });
        expect(res.status, `${p} ${accept}`).to.equal(403);
        expect(res.headers['content-type'], `${p} ${accept}`).to.match(/^application\/json\b/);
        expect(res.body.error).to.equal('csrf');
      }
    }
  });
});

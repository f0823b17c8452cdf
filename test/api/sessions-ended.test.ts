import { expect } from 'chai';
import { statSync, watch } from 'node:fs';
import http from 'node:http';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, sessionCookie, sidOf } from '../helpers/client.js';
import { createUpload, filler, makeDocument } from '../helpers/documents.js';
import { ready } from '../../client/crypto/index.js';

/** Resolves once `file` holds at least `bytes` bytes: the server has read that much of the request body. */
async function untilFileHas(file: string, bytes: number): Promise<void> {
  const watcher = watch(file);
  try {
    const changed = () => new Promise<void>((resolve) => watcher.once('change', () => resolve()));
    for (;;) {
      const next = changed();
      if (statSync(file).size >= bytes) return;
      await next;
    }
  } finally {
    watcher.close();
  }
}

/**
 * A tus PATCH written in two parts over a raw connection, so a test can act while the server holds the
 * request (and the session it loaded) open.
 */
function slowPatch(base: string, cookie: string, csrf: string, id: string, body: Uint8Array, firstPart: number) {
  const url = new URL(`/api/uploads/${id}`, base);
  const req = http.request(url, {
    method: 'PATCH',
    headers: {
      Cookie: `heirloom.sid=${cookie}`,
      // another browser than the one that logged in: the session's "last used from" changes, so the server
      // writes the session back when the request ends (the write that used to bring ended sessions back)
      'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
      'X-CSRF-Token': csrf,
      'Tus-Resumable': '1.0.0',
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': String(body.length),
    },
  });
  const answer = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  req.write(Buffer.from(body.subarray(0, firstPart)));
  return {
    /** Sends the rest of the body and resolves with the status once the server has answered. */
    finish: () => {
      req.end(Buffer.from(body.subarray(firstPart)));
      return answer;
    },
  };
}

describe('sessions: an ended session stays ended', () => {
  let t: TestServer;
  let base: string;
  before(async () => {
    await ready();
    t = await startTestServer();
    base = await t.listen();
  });
  after(() => t.close());

  /** The same person logged in on a second device, with that device's cookie and an upload started there. */
  async function secondDeviceUploading(username: string) {
    const m = await newMember(base, t.services, username);
    const thief = m.client.anotherDevice();
    expect((await thief.passwordStep(username, m.password)).status).to.equal(200);
    const step = await thief.totpStep();
    expect(step.status).to.equal(200);
    const cookie = sessionCookie(step);
    if (!cookie) throw new Error('no session cookie after the code step');
    const keys = m.account.keys;
    const doc = makeDocument(keys, m.client.userId, filler(64 * 1024));
    expect((await createUpload(thief, doc, doc.blob.length)).status).to.equal(201);
    const patch = slowPatch(base, cookie, thief.csrf, doc.id, doc.blob, 1024);
    await untilFileHas(t.services.blobs.uploadPathOf(doc.id), 1024);
    return { m, thief, cookie, patch };
  }

  async function rowsOf(sid: string) {
    return t.db('sessions').where({ sid });
  }

  it('keeps a session ended in settings ended after a slow upload on its cookie finishes', async () => {
    const { m, thief, cookie, patch } = await secondDeviceUploading('ada');
    const page = await m.client.agent.get('/settings/sessions').set('HX-Request', 'true');
    const handles = [...page.text.matchAll(/\/settings\/sessions\/([0-9a-f]{24})\/end/g)].map((x) => x[1]);
    expect(handles).to.have.length(1);
    const end = await m.client.agent.post(`/settings/sessions/${handles[0]}/end`).set('X-CSRF-Token', m.client.csrf).set('HX-Request', 'true');
    expect(end.status).to.equal(200);
    expect((await thief.get('/api/vault/kdf')).status).to.equal(401);

    await patch.finish();

    expect(await rowsOf(sidOf(cookie))).to.have.length(0);
    expect((await thief.get('/api/vault/kdf')).status).to.equal(401);
    expect((await thief.get('/api/vault/kdf')).status).to.equal(401);
    expect(await rowsOf(sidOf(cookie))).to.have.length(0);
  });

  it('keeps a session ended by a password change ended after a slow upload on its cookie finishes', async () => {
    const { m, thief, cookie, patch } = await secondDeviceUploading('bea');
    expect((await m.client.changePassword(m.password, 'a whole new passphrase', m.account.keys.accountKey)).status).to.equal(200);
    expect((await thief.get('/api/vault/kdf')).status).to.equal(401);

    await patch.finish();

    expect(await rowsOf(sidOf(cookie))).to.have.length(0);
    expect((await thief.get('/api/vault/kdf')).status).to.equal(401);
    expect((await thief.get('/api/vault/kdf')).status).to.equal(401);
    expect((await m.client.get('/api/vault/kdf')).status).to.equal(200);
  });
});

import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember } from '../helpers/client.js';
import { filler, makeDocument, upload, type TestDocument } from '../helpers/documents.js';
import { runCli, tempDir } from '../helpers/restore.js';
import { fingerprint, fromB64, getSodium, grantMessage, ready, sealPins, sign, signSelf, toB64 } from '../../client/crypto/index.js';
import { BackupService, type BackupResult } from '../../server/services/backup.js';
import { openDb } from '../../server/db/connection.js';
import { rescue, RescueError } from '../../scripts/rescue-lib.js';
import { addMember, asPerson, createSpace, shareDocument, uploadIntoSpace, type Person } from '../helpers/sharing.js';

const MiB = 1024 * 1024;

/** Every file under a folder, relative, with its bytes. */
function tree(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(path.join(dir, rel))) {
    const p = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(dir, p)).isDirectory()) for (const [k, v] of tree(dir, p)) out.set(k, v);
    else out.set(p, readFileSync(path.join(dir, p)));
  }
  return out;
}

describe('heirloom-rescue: documents out of a backup with no server', function () {
  this.timeout(300_000);
  let t: TestServer;
  let words: string;
  let otherWords: string;
  let password: string;
  let backup: BackupResult;
  /** made in before(), not when the file loads: a run that skips these tests (--grep) leaves nothing behind */
  let scratch: ReturnType<typeof tempDir>;
  /** what the folder must hold afterwards: file name → original bytes */
  const expected = new Map<string, Uint8Array>();
  let trashedDoc: TestDocument;

  before(async () => {
    await ready();
    scratch = tempDir('rescue');
    t = await startTestServer({ env: { HEIRLOOM_DEFAULT_QUOTA_MIB: '200' } });
    const rosa = await newMember(t.app, t.services, 'rosa');
    const other = await newMember(t.app, t.services, 'otto');
    words = rosa.account.recoveryWords;
    otherWords = other.account.recoveryWords;
    password = rosa.password;
    const keys = rosa.account.keys;
    const id = rosa.client.userId;
    const docs: [string, Uint8Array, string][] = [
      ['report.pdf', filler(20_000, 1), 'report.pdf'],
      ['report.pdf', filler(30_000, 2), 'report (2).pdf'], // same name: de-duplicated
      ['REPORT.pdf', filler(100, 3), 'REPORT (3).pdf'], // same on a case-insensitive disk
      ['../../etc/passwd', filler(50, 4), '.._.._etc_passwd'.replace(/^\./, '_')], // no way out of the folder
      ['a/b\\c:d.txt', filler(60, 5), 'a_b_c_d.txt'],
      ['..', filler(70, 6), 'document'],
      ['Trash', filler(80, 7), 'Trash (2)'], // the trash folder's name is taken
      ['empty.txt', new Uint8Array(0), 'empty.txt'],
      ['big scan.tiff', filler(4 * MiB + 1, 8), 'big scan.tiff'],
      ['Grand-mère’s letter.txt', filler(123, 9), 'Grand-mère’s letter.txt'],
    ];
    for (const [name, bytes, out] of docs) {
      const d = makeDocument(keys, id, bytes, name);
      expect((await upload(rosa.client, d)).status).to.equal(204);
      expected.set(out, bytes);
    }
    trashedDoc = makeDocument(keys, id, filler(4321, 10), 'report.pdf');
    expect((await upload(rosa.client, trashedDoc)).status).to.equal(204);
    expect((await rosa.client.post(`/api/documents/${trashedDoc.id}/trash`)).status).to.be.oneOf([200, 204]);
    expected.set('Trash/report.pdf', trashedDoc.plaintext);
    // someone else's documents never come out
    const foreign = makeDocument(other.account.keys, other.client.userId, filler(999, 11), 'otto.txt');
    expect((await upload(other.client, foreign)).status).to.equal(204);

    backup = await new BackupService(t.db, t.services.blobs, { serverKeyFile: t.config.serverKeyFile, appVersion: 'test' }).create({
      outDir: path.join(scratch.dir, 'backups'),
    });
  });
  after(async () => {
    await t.close();
    scratch.remove();
  });

  const expectAll = (out: string) => {
    const got = tree(out);
    expect([...got.keys()].sort()).to.deep.equal([...expected.keys()].sort());
    for (const [name, bytes] of expected) expect(Buffer.from(bytes).equals(got.get(name) as Buffer), name).to.equal(true);
  };

  it('decrypts every document of the person from a backup with the 24 words, byte for byte, under their names', async () => {
    const out = path.join(scratch.dir, 'words');
    const s = await rescue({ dataDir: backup.dir, username: 'Rosa', words: words.toUpperCase().replace(/ /g, '  '), outDir: out });
    expect(s.damaged).to.deep.equal([]);
    expect(s.documents).to.equal(expected.size);
    expect(s.inTrash).to.equal(1);
    expect(s.bytes).to.equal([...expected.values()].reduce((n, b) => n + b.length, 0));
    expectAll(out);
    expect(statSync(path.join(out, 'report.pdf')).mode & 0o077).to.equal(0); // plaintext is private to its owner
  });

  it('does the same with the password and the server key', async () => {
    const out = path.join(scratch.dir, 'password');
    const s = await rescue({ dataDir: backup.dir, username: 'rosa', password, serverKeyFile: t.config.serverKeyFile, outDir: out });
    expect(s.damaged).to.deep.equal([]);
    expectAll(out);
  });

  it('reads the live data folder of a running server too (the key at its default place)', async () => {
    const out = path.join(scratch.dir, 'live');
    const s = await rescue({ dataDir: t.dataDir, username: 'rosa', password, outDir: out });
    expect(s.documents).to.equal(expected.size);
    expectAll(out);
  });

  it('refuses wrong words, other people’s words, a wrong password and a wrong server key, writing nothing', async () => {
    const cases: [string, Partial<Parameters<typeof rescue>[0]>, RegExp][] = [
      ['typo', { words: words.replace(/^\S+/, 'notaword') }, /Word 1 is not on the recovery word list/],
      ['short', { words: words.split(' ').slice(0, 23).join(' ') }, /24 words; 23 words were given/],
      ['someone else’s', { words: otherWords }, /do not belong to rosa's account/],
      ['wrong password', { password: 'not the password', serverKeyFile: t.config.serverKeyFile }, /That password is not right for rosa/],
      ['no server key', { password }, /no server key file .* needs the server's key/],
      ['wrong server key', { password, serverKeyFile: path.join(scratch.dir, 'other.key') }, /is not the key of the server/],
      ['no such person', { username: 'nobody', words }, /no account named “nobody”/],
    ];
    writeFileSync(path.join(scratch.dir, 'other.key'), 'ef'.repeat(32));
    for (const [what, opts, message] of cases) {
      const out = path.join(scratch.dir, `refused-${what.replace(/\W/g, '')}`);
      const err = await rescue({ dataDir: backup.dir, username: 'rosa', outDir: out, ...opts }).catch((e: Error) => e);
      expect(err, what).to.be.instanceOf(RescueError);
      expect((err as Error).message, what).to.match(message);
      expect(existsSync(out), what).to.equal(false);
    }
  });

  it('reports a tampered or missing blob, skips it and rescues the rest', async () => {
    const copy = tempDir('rescue-tampered');
    try {
      // a copy of the backup, with one blob changed and one gone
      const { cpSync, unlinkSync } = await import('node:fs');
      cpSync(backup.dir, copy.dir, { recursive: true });
      const tampered = path.join(copy.dir, 'blobs', trashedDoc.id.slice(0, 2), trashedDoc.id);
      const bytes = readFileSync(tampered);
      bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 1;
      writeFileSync(tampered, bytes);
      const big = backup.manifest.files.filter((f) => f.path.startsWith('blobs/')).sort((a, b) => b.size - a.size)[0]!;
      unlinkSync(path.join(copy.dir, big.path));

      const out = path.join(scratch.dir, 'tampered');
      const s = await rescue({ dataDir: copy.dir, username: 'rosa', words, outDir: out });
      expect(s.damaged.map((d) => d.name).sort()).to.deep.equal(['big scan.tiff', 'report.pdf']);
      expect(s.damaged.find((d) => d.name === 'report.pdf')?.damaged).to.match(/tampered with or damaged/);
      expect(s.damaged.find((d) => d.name === 'big scan.tiff')?.damaged).to.match(/encrypted file is missing/);
      expect(s.documents).to.equal(expected.size - 2);
      const got = tree(out);
      expect(got.has('Trash/report.pdf')).to.equal(false);
      expect(got.has('big scan.tiff')).to.equal(false);
      expect([...got.keys()].filter((k) => k.includes('.part'))).to.deep.equal([]); // no half-written file left
      expect(Buffer.from(expected.get('report.pdf') as Uint8Array).equals(got.get('report.pdf') as Buffer)).to.equal(true);
    } finally {
      copy.remove();
    }
  });

  it('refuses an output folder that already holds files', async () => {
    const out = path.join(scratch.dir, 'full');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(out);
    writeFileSync(path.join(out, 'mine.txt'), 'keep me');
    const err = await rescue({ dataDir: backup.dir, username: 'rosa', words, outDir: out }).catch((e: Error) => e);
    expect((err as Error).message).to.match(/not empty/);
    expect(readdirSync(out)).to.deep.equal(['mine.txt']);
  });

  describe('through the real command (npm run rescue)', () => {
    it('rescues with the words and prints a JSON summary', async () => {
      const out = path.join(scratch.dir, 'cli-words');
      const r = await runCli('rescue', ['--data', backup.dir, '--username', 'rosa', '--words', words, '--out', out, '--json']);
      expect(r.code, r.stderr).to.equal(0);
      const summary = JSON.parse(r.stdout);
      expect(summary).to.include({ username: 'rosa', documents: expected.size, inTrash: 1 });
      expectAll(out);
    });

    it('reads the password from HEIRLOOM_RESCUE_PASSWORD when --password has no value', async () => {
      const out = path.join(scratch.dir, 'cli-password');
      const r = await runCli('rescue', ['--data', backup.dir, '--username', 'rosa', '--password', '--server-key', t.config.serverKeyFile, '--out', out], {
        HEIRLOOM_RESCUE_PASSWORD: password,
      });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`Rescued ${expected.size} documents of rosa`));
      expectAll(out);
    });

    it('exits 1 with a sentence and writes nothing on wrong words', async () => {
      const out = path.join(scratch.dir, 'cli-wrong');
      const r = await runCli('rescue', ['--data', backup.dir, '--username', 'rosa', '--words', otherWords, '--out', out]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^heirloom-rescue: These recovery words do not belong to rosa's account/);
      expect(existsSync(out)).to.equal(false);
    });
  });
});

describe('heirloom-rescue: documents of the person’s spaces and documents shared with them', function () {
  this.timeout(300_000);
  let t: TestServer;
  let ada: Person & { words: string };
  let ben: Person & { words: string };
  let cleo: Person;
  let backup: BackupResult;
  let scratch: ReturnType<typeof tempDir>;
  const bytes = {
    passport: filler(1_500, 21),
    adaReturn: filler(2_500, 22),
    benReturn: filler(3_500, 23),
    benOld: filler(700, 24),
    will: filler(4_500, 25),
    recipe: filler(600, 26),
    gone: filler(800, 27),
  };
  const ids = { will: '', recipe: '' };

  /** Uploads a document of one's own (outside any space); returns its ID. */
  async function own(p: Person, plaintext: Uint8Array, name: string): Promise<string> {
    const d = makeDocument(p.keys, p.userId, plaintext, name);
    expect((await upload(p.client, d)).status).to.equal(204);
    return d.id;
  }
  async function intoSpace(p: Person, spaceId: string, plaintext: Uint8Array, name: string): Promise<string> {
    const u = await uploadIntoSpace(p, spaceId, plaintext, name);
    expect(u.res.status, JSON.stringify(u.res.body)).to.be.oneOf([201, 204]);
    return u.doc.id;
  }
  const trash = async (p: Person, id: string) => expect((await p.client.post(`/api/documents/${id}/trash`)).status).to.equal(200);

  before(async () => {
    await ready();
    scratch = tempDir('rescue-sharing');
    t = await startTestServer();
    const member = async (name: string) => {
      const m = await newMember(t.app, t.services, name);
      return { ...asPerson(m.client, m.account.keys, name), words: m.account.recoveryWords };
    };
    ada = await member('ada');
    ben = await member('ben');
    cleo = await member('cleo');

    await own(ada, bytes.passport, 'passport.pdf');
    // a name with a slash: the folder's name is made safe like a file's
    const taxes = await createSpace(ada, 'Taxes / 2026');
    await addMember(ada, taxes, ben);
    await intoSpace(ada, taxes, bytes.adaReturn, 'ada-return.pdf');
    const benReturn = await intoSpace(ben, taxes, bytes.benReturn, 'ben-return.pdf');
    await trash(ben, await intoSpace(ben, taxes, bytes.benOld, 'old.pdf')); // ben's trash: not ada's to rescue

    ids.will = await own(ben, bytes.will, 'will.pdf');
    await shareDocument(ben, ids.will, ada);
    await shareDocument(ben, benReturn, ada); // also in ada's space: written there, once
    ids.recipe = await own(cleo, bytes.recipe, 'recipe.txt');
    await shareDocument(cleo, ids.recipe, ada);
    const gone = await own(cleo, bytes.gone, 'gone.txt');
    await shareDocument(cleo, gone, ada);
    await trash(cleo, gone);

    // ada compared cleo's words and marked them verified; she never pinned ben
    const now = Date.now();
    const pins = {
      v: 1 as const,
      users: { [cleo.userId]: { fp: fingerprint(cleo.keys.signPk, cleo.keys.boxPk).hex, verified: true, seen: now, verifiedAt: now } },
      spaces: {},
    };
    const saved = await ada.client.agent
      .put('/api/pins')
      .set('X-CSRF-Token', ada.client.csrf)
      .set('Accept', 'application/json')
      .send({ pins: toB64(sealPins(ada.keys.accountKey, ada.userId, pins)), version: 0 });
    expect(saved.status, JSON.stringify(saved.body)).to.equal(200);

    backup = await new BackupService(t.db, t.services.blobs, { serverKeyFile: t.config.serverKeyFile, appVersion: 'test' }).create({
      outDir: path.join(scratch.dir, 'backups'),
    });
  });
  after(async () => {
    await t.close();
    scratch.remove();
  });

  const expectTree = (out: string, want: Record<string, Uint8Array>) => {
    const got = tree(out);
    expect([...got.keys()].sort()).to.deep.equal(Object.keys(want).sort());
    for (const [name, b] of Object.entries(want)) expect(Buffer.from(b).equals(got.get(name) as Buffer), name).to.equal(true);
  };

  it('writes the space’s documents into a folder named after the space and shared ones under “Shared with me/<who shared it>”', async () => {
    const out = path.join(scratch.dir, 'ada');
    const s = await rescue({ dataDir: backup.dir, username: 'ada', words: ada.words, outDir: out });
    expect(s.damaged).to.deep.equal([]);
    expect(s.notTrusted).to.deep.equal([]);
    expectTree(out, {
      'passport.pdf': bytes.passport,
      'Taxes _ 2026/ada-return.pdf': bytes.adaReturn, // her own, in the space: written once, in the space's folder
      'Taxes _ 2026/ben-return.pdf': bytes.benReturn,
      'Shared with me/ben/will.pdf': bytes.will,
      'Shared with me/cleo/recipe.txt': bytes.recipe,
    });
    expect(s).to.include({ documents: 5, own: 2, space: 1, shared: 2 });
    // ben's key was used as the database holds it (never pinned), and the summary says so; cleo was verified
    expect(s).to.include({ unverified: 1 });
    expect(s.unverifiedPeople).to.deep.equal(['ben']);
    expect(s.rescued.find((d) => d.id === ids.will)).to.include({ from: 'shared', by: 'ben', file: 'Shared with me/ben/will.pdf' });
    expect(s.rescued.find((d) => d.file === 'Taxes _ 2026/ben-return.pdf')).to.include({ from: 'space', by: 'ben' });
  });

  it('opens a space with a key another member sealed, and keeps the person’s own trash as before', async () => {
    const out = path.join(scratch.dir, 'ben');
    const s = await rescue({ dataDir: backup.dir, username: 'ben', words: ben.words, outDir: out });
    expect(s.damaged).to.deep.equal([]);
    expectTree(out, {
      'will.pdf': bytes.will,
      'Trash/old.pdf': bytes.benOld,
      'Taxes _ 2026/ben-return.pdf': bytes.benReturn,
      'Taxes _ 2026/ada-return.pdf': bytes.adaReturn, // through ben's space key, sealed and signed by ada
    });
    expect(s).to.include({ documents: 4, own: 3, space: 1, shared: 0, unverified: 1 });
    expect(s.unverifiedPeople).to.deep.equal(['ada']);
  });

  it('skips and names a shared document whose sharer’s key was changed after it was pinned, or does not carry its own signature', async () => {
    const copy = tempDir('rescue-changed-key');
    try {
      const { cpSync } = await import('node:fs');
      cpSync(backup.dir, copy.dir, { recursive: true });
      // a malicious server: new keys for cleo, self-signed by a key it made up, and cleo's grant signed again
      // with it (so only ada's pin can tell); ben's self-signature spoiled
      const sodium = getSodium();
      const box = sodium.crypto_box_keypair();
      const sig = sodium.crypto_sign_keypair();
      const db = openDb(path.join(copy.dir, 'heirloom.sqlite'));
      try {
        const row = (await db('users').where({ id: cleo.userId }).first('recovery_auth_pk')) as { recovery_auth_pk: string };
        const selfSignature = signSelf(sig.privateKey, cleo.userId, box.publicKey, sig.publicKey, fromB64(row.recovery_auth_pk));
        await db('users')
          .where({ id: cleo.userId })
          .update({ box_pk: toB64(box.publicKey), sign_pk: toB64(sig.publicKey), self_signature: toB64(selfSignature) });
        const grant = { document_id: ids.recipe, recipient_id: ada.userId };
        const sealed = fromB64(((await db('grants').where(grant).first('sealed')) as { sealed: string }).sealed);
        await db('grants').where(grant).update({ sig: toB64(sign(sig.privateKey, grantMessage(ids.recipe, ada.userId, sealed))) });
        const benSig = fromB64(((await db('users').where({ id: ben.userId }).first('self_signature')) as { self_signature: string }).self_signature);
        benSig[0] = (benSig[0] ?? 0) ^ 1;
        await db('users').where({ id: ben.userId }).update({ self_signature: toB64(benSig) });
      } finally {
        await db.destroy();
      }

      const out = path.join(scratch.dir, 'changed');
      const r = await runCli('rescue', ['--data', copy.dir, '--username', 'ada', '--words', ada.words, '--out', out]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stdout).to.include(`NOT TRUSTED  a document shared by cleo: cleo’s key in this database is not the one you pinned for them`);
      expect(r.stdout).to.match(new RegExp(`a document shared by cleo \\[${ids.recipe}\\]: not trusted: cleo’s key .* was changed after you saw it`));
      expect(r.stdout).to.match(new RegExp(`a document shared by ben \\[${ids.will}\\]: not trusted: ben’s keys in this database do not carry their own valid signature`));
      expect(r.stdout).to.match(/2 documents were not trusted and skipped/);
      // nothing of theirs was opened; everything else came out
      expectTree(out, {
        'passport.pdf': bytes.passport,
        'Taxes _ 2026/ada-return.pdf': bytes.adaReturn,
        'Taxes _ 2026/ben-return.pdf': bytes.benReturn,
      });
    } finally {
      copy.remove();
    }
  });

  it('names a space’s folder after its ID when the space’s name does not open', async () => {
    const copy = tempDir('rescue-space-name');
    try {
      const { cpSync } = await import('node:fs');
      cpSync(backup.dir, copy.dir, { recursive: true });
      const db = openDb(path.join(copy.dir, 'heirloom.sqlite'));
      let spaceId: string;
      try {
        const space = (await db('spaces').first('id', 'name')) as { id: string; name: string };
        spaceId = space.id;
        const name = fromB64(space.name);
        name[name.length - 1] = (name[name.length - 1] ?? 0) ^ 1;
        await db('spaces').where({ id: space.id }).update({ name: toB64(name) });
      } finally {
        await db.destroy();
      }
      const out = path.join(scratch.dir, 'space-name');
      const s = await rescue({ dataDir: copy.dir, username: 'ben', words: ben.words, outDir: out });
      expect(s.damaged).to.deep.equal([]);
      const folder = `Space ${spaceId.slice(0, 8)}`;
      expect([...tree(out).keys()].sort()).to.deep.equal([`${folder}/ada-return.pdf`, `${folder}/ben-return.pdf`, 'Trash/old.pdf', 'will.pdf']);
    } finally {
      copy.remove();
    }
  });
});

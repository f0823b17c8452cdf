import { expect } from 'chai';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadOrCreateServerKey, ServerKeyError } from '../../server/storage/serverKey.js';

describe('the server key file', () => {
  const dir = () => mkdtempSync(path.join(tmpdir(), 'heirloom-key-'));

  it('is created on first start with 32 random bytes, readable only by its owner, and read back the same', () => {
    const file = path.join(dir(), 'secrets', 'server.key');
    const first = loadOrCreateServerKey(file);
    expect(first.created).to.equal(true);
    expect(first.key).to.have.length(32);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(statSync(path.dirname(file)).mode & 0o077).to.equal(0);
    const again = loadOrCreateServerKey(file);
    expect(again.created).to.equal(false);
    expect(Buffer.from(again.key).equals(Buffer.from(first.key))).to.equal(true);
    expect(Buffer.from(readFileSync(file)).equals(Buffer.from(first.key))).to.equal(true);
  });

  it('accepts 64 hex characters, as a Docker secret would hold', () => {
    const file = path.join(dir(), 'key.hex');
    writeFileSync(file, `${'ab'.repeat(32)}\n`);
    expect(Buffer.from(loadOrCreateServerKey(file).key).toString('hex')).to.equal('ab'.repeat(32));
  });

  it('refuses a file of the wrong size with a message saying what it must hold', () => {
    const file = path.join(dir(), 'short.key');
    writeFileSync(file, 'too short');
    expect(() => loadOrCreateServerKey(file)).to.throw(ServerKeyError, /exactly 32 bytes/);
  });
});

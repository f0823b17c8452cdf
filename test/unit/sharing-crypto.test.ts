import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  CryptoError,
  SEALED_KEY_BYTES,
  SPACE_NAME_MAX_CHARS,
  ad,
  aeadSeal,
  emptyPins,
  fingerprint,
  getSodium,
  newDocKey,
  newSpaceKey,
  openGrant,
  openPins,
  openSpaceKey,
  openSpaceName,
  ready,
  sealGrant,
  sealPins,
  sealSpaceKey,
  sealSpaceName,
  sign,
  grantMessage,
  unwrapDocKeyForSpace,
  utf8,
  verifyGrantSignature,
  verifySpaceKeySignature,
  wrapDocKeyForSpace,
  type Pins,
  type SignedSeal,
} from '../../client/crypto/index.js';

// crypto.md "Sharing and spaces" and "Fingerprints"; the byte layouts are in docs/format.md.

const DOC = '5e2f8a14-6c3b-4d7e-9f01-a2b3c4d5e6f7';
const OTHER_DOC = '0b5e7c2a-9d41-4f8e-a3b6-5c7d8e9f0a1b';
const SPACE = '9c4e1f7a-2b5d-4e8f-a6c3-1d2e3f4a5b6c';
const OTHER_SPACE = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

interface Person {
  id: string;
  boxPk: Uint8Array;
  boxSk: Uint8Array;
  signPk: Uint8Array;
  signSk: Uint8Array;
}

function person(id: string): Person {
  const s = getSodium();
  const box = s.crypto_box_keypair();
  const sig = s.crypto_sign_keypair();
  return { id, boxPk: box.publicKey, boxSk: box.privateKey, signPk: sig.publicKey, signSk: sig.privateKey };
}

/** Runs fn and returns the CryptoError it throws; fails the test if it throws anything else or nothing. */
function cryptoError(fn: () => unknown): CryptoError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CryptoError) return e;
    throw e;
  }
  throw new Error('expected a CryptoError, but nothing was thrown');
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('sharing crypto (crypto.md "Sharing and spaces")', () => {
  let anna: Person; // shares and manages
  let ben: Person; // receives
  let cleo: Person; // someone else in the family
  before(async () => {
    await ready();
    anna = person('7d0c6f1e-3b2a-4c5d-9e8f-0a1b2c3d4e5f');
    ben = person('2b9e4d71-8c3f-4a6e-b5d2-7f1a0c9e3b48');
    cleo = person('a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d');
  });

  describe('grants', () => {
    it('round-trips: the recipient opens the document key the sharer sealed and signed', () => {
      const docKey = newDocKey();
      const grant = sealGrant(docKey, DOC, ben.id, ben.boxPk, anna.signSk);
      expect(grant.sealed.length).to.equal(SEALED_KEY_BYTES);
      expect(grant.sig.length).to.equal(64);
      expect(verifyGrantSignature(anna.signPk, grant.sig, DOC, ben.id, grant.sealed)).to.equal(true);
      expect(openGrant(grant, DOC, ben.id, anna.signPk, ben.boxPk, ben.boxSk)).to.deep.equal(docKey);
    });

    it('seals differently every time (a fresh ephemeral key), and each seal opens', () => {
      const docKey = newDocKey();
      const a = sealGrant(docKey, DOC, ben.id, ben.boxPk, anna.signSk);
      const b = sealGrant(docKey, DOC, ben.id, ben.boxPk, anna.signSk);
      expect(a.sealed).to.not.deep.equal(b.sealed);
      expect(openGrant(b, DOC, ben.id, anna.signPk, ben.boxPk, ben.boxSk)).to.deep.equal(docKey);
    });

    it('refuses a grant signed by someone else than the sharer it is checked against', () => {
      // Cleo (or a server holding some other key) seals Anna's document key to Ben and signs it herself.
      const forged = sealGrant(newDocKey(), DOC, ben.id, ben.boxPk, cleo.signSk);
      expect(cryptoError(() => openGrant(forged, DOC, ben.id, anna.signPk, ben.boxPk, ben.boxSk)).code).to.equal('signature');
      expect(verifyGrantSignature(anna.signPk, forged.sig, DOC, ben.id, forged.sealed)).to.equal(false);
    });

    it('checks the signature before opening: a validly sealed box with a made-up signature is never opened', () => {
      const docKey = newDocKey();
      const real = sealGrant(docKey, DOC, ben.id, ben.boxPk, anna.signSk);
      const unsigned: SignedSeal = { sealed: real.sealed, sig: new Uint8Array(64) };
      expect(cryptoError(() => openGrant(unsigned, DOC, ben.id, anna.signPk, ben.boxPk, ben.boxSk)).code).to.equal('signature');
    });

    it('refuses a grant sealed to someone else, even with a valid signature naming the recipient', () => {
      // Signed for Ben, but the box was sealed to Cleo's key: Ben cannot open it, and says so.
      const s = getSodium();
      const sealed = s.crypto_box_seal(newDocKey(), cleo.boxPk);
      const grant = { sealed, sig: sign(anna.signSk, grantMessage(DOC, ben.id, sealed)) };
      expect(verifyGrantSignature(anna.signPk, grant.sig, DOC, ben.id, grant.sealed)).to.equal(true);
      expect(cryptoError(() => openGrant(grant, DOC, ben.id, anna.signPk, ben.boxPk, ben.boxSk)).code).to.equal('auth');
    });

    it('refuses a grant moved to another document or another recipient', () => {
      const grant = sealGrant(newDocKey(), DOC, ben.id, ben.boxPk, anna.signSk);
      expect(cryptoError(() => openGrant(grant, OTHER_DOC, ben.id, anna.signPk, ben.boxPk, ben.boxSk)).code).to.equal('signature');
      // Ben's grant handed to Cleo as hers: the signature names Ben.
      expect(cryptoError(() => openGrant(grant, DOC, cleo.id, anna.signPk, cleo.boxPk, cleo.boxSk)).code).to.equal('signature');
      expect(verifyGrantSignature(anna.signPk, grant.sig, OTHER_DOC, ben.id, grant.sealed)).to.equal(false);
      expect(verifyGrantSignature(anna.signPk, grant.sig, DOC, cleo.id, grant.sealed)).to.equal(false);
    });

    it('refuses a signed box that does not hold exactly one 32-byte key', () => {
      const s = getSodium();
      const sealed = s.crypto_box_seal(new Uint8Array(31), ben.boxPk); // 79 bytes, signed by the real sharer
      const grant = { sealed, sig: sign(anna.signSk, grantMessage(DOC, ben.id, sealed)) };
      expect(cryptoError(() => openGrant(grant, DOC, ben.id, anna.signPk, ben.boxPk, ben.boxSk)).code).to.equal('encoding');
    });

    it('refuses IDs that are not lowercase UUIDs before sealing anything', () => {
      expect(cryptoError(() => sealGrant(newDocKey(), DOC.toUpperCase(), ben.id, ben.boxPk, anna.signSk)).code).to.equal('params');
      expect(cryptoError(() => sealGrant(newDocKey(), DOC, 'ben', ben.boxPk, anna.signSk)).code).to.equal('params');
    });
  });

  describe('space keys', () => {
    it('round-trip: a member opens the space key of the generation it was sealed for', () => {
      const key = newSpaceKey();
      const sealed = sealSpaceKey(key, SPACE, ben.id, 2, ben.boxPk, anna.signSk);
      expect(sealed.sealed.length).to.equal(SEALED_KEY_BYTES);
      expect(verifySpaceKeySignature(anna.signPk, sealed.sig, SPACE, ben.id, 2, sealed.sealed)).to.equal(true);
      expect(openSpaceKey(sealed, SPACE, ben.id, 2, anna.signPk, ben.boxPk, ben.boxSk)).to.deep.equal(key);
    });

    it('refuses a space key of generation 2 presented as generation 3', () => {
      const sealed = sealSpaceKey(newSpaceKey(), SPACE, ben.id, 2, ben.boxPk, anna.signSk);
      expect(cryptoError(() => openSpaceKey(sealed, SPACE, ben.id, 3, anna.signPk, ben.boxPk, ben.boxSk)).code).to.equal('signature');
      expect(verifySpaceKeySignature(anna.signPk, sealed.sig, SPACE, ben.id, 3, sealed.sealed)).to.equal(false);
    });

    it('refuses a space key moved to another space or member, or signed by someone else', () => {
      const sealed = sealSpaceKey(newSpaceKey(), SPACE, ben.id, 1, ben.boxPk, anna.signSk);
      expect(cryptoError(() => openSpaceKey(sealed, OTHER_SPACE, ben.id, 1, anna.signPk, ben.boxPk, ben.boxSk)).code).to.equal('signature');
      expect(cryptoError(() => openSpaceKey(sealed, SPACE, cleo.id, 1, anna.signPk, cleo.boxPk, cleo.boxSk)).code).to.equal('signature');
      expect(cryptoError(() => openSpaceKey(sealed, SPACE, ben.id, 1, cleo.signPk, ben.boxPk, ben.boxSk)).code).to.equal('signature');
    });

    it('refuses generations that are not whole numbers from 1', () => {
      for (const g of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
        expect(cryptoError(() => sealSpaceKey(newSpaceKey(), SPACE, ben.id, g, ben.boxPk, anna.signSk)).code, String(g)).to.equal('params');
        expect(cryptoError(() => wrapDocKeyForSpace(newSpaceKey(), newDocKey(), DOC, SPACE, g)).code, String(g)).to.equal('params');
      }
    });
  });

  describe('document keys under a space key', () => {
    it('round-trip in a 73-byte envelope', () => {
      const spaceKey = newSpaceKey();
      const docKey = newDocKey();
      const wrap = wrapDocKeyForSpace(spaceKey, docKey, DOC, SPACE, 1);
      expect(wrap.length).to.equal(73);
      expect(unwrapDocKeyForSpace(spaceKey, wrap, DOC, SPACE, 1)).to.deep.equal(docKey);
    });

    it('do not open as another space, generation or document, or with another generation\'s key', () => {
      const spaceKey = newSpaceKey();
      const wrap = wrapDocKeyForSpace(spaceKey, newDocKey(), DOC, SPACE, 2);
      for (const [doc, space, g] of [[DOC, OTHER_SPACE, 2], [DOC, SPACE, 1], [DOC, SPACE, 3], [OTHER_DOC, SPACE, 2]] as const) {
        expect(cryptoError(() => unwrapDocKeyForSpace(spaceKey, wrap, doc, space, g)).code, `${doc}/${space}/${g}`).to.equal('auth');
      }
      expect(cryptoError(() => unwrapDocKeyForSpace(newSpaceKey(), wrap, DOC, SPACE, 2)).code).to.equal('auth');
    });
  });

  describe('space names', () => {
    it('round-trip, trimmed and with runs of white space made one space', () => {
      const key = newSpaceKey();
      const env = sealSpaceName(key, SPACE, 1, '  Taxes \n\t 2026 ');
      expect(openSpaceName(key, SPACE, 1, env)).to.equal('Taxes 2026');
    });

    it(`accept ${SPACE_NAME_MAX_CHARS} characters, counted as characters (not bytes), and refuse one more`, () => {
      const key = newSpaceKey();
      const longest = '\u00e9'.repeat(SPACE_NAME_MAX_CHARS - 1) + '\u{1f3e0}'; // 2-byte letters and a 4-byte emoji
      expect(openSpaceName(key, SPACE, 1, sealSpaceName(key, SPACE, 1, longest))).to.equal(longest);
      expect(cryptoError(() => sealSpaceName(key, SPACE, 1, longest + 'x')).code).to.equal('params');
    });

    it('refuse an empty name, or one of only white space', () => {
      for (const name of ['', '   ', '\n\t']) {
        expect(cryptoError(() => sealSpaceName(newSpaceKey(), SPACE, 1, name)).code, JSON.stringify(name)).to.equal('params');
      }
    });

    it('do not open as another space or generation', () => {
      const key = newSpaceKey();
      const env = sealSpaceName(key, SPACE, 2, 'Family');
      expect(cryptoError(() => openSpaceName(key, SPACE, 3, env)).code).to.equal('auth');
      expect(cryptoError(() => openSpaceName(key, OTHER_SPACE, 2, env)).code).to.equal('auth');
    });

    it('have the envelope length docs/format.md gives, which hides a name\'s length within 64 bytes', () => {
      const format = readFileSync(path.join(root, 'docs', 'format.md'), 'utf8');
      const line = /^\s*name envelope length = 41 \+ 64 × \(floor\(bytes \/ 64\) \+ 1\)\s*$/m;
      expect(format, 'docs/format.md: "name envelope length = 41 + 64 × (floor(bytes / 64) + 1)"').to.match(line);
      const key = newSpaceKey();
      for (const bytes of [1, 63, 64, 200, 320]) {
        const name = 'a'.repeat(bytes % 4) + '\u{1f3e0}'.repeat(Math.floor(bytes / 4)); // exactly `bytes` of UTF-8
        expect(utf8(name).length).to.equal(bytes);
        expect(sealSpaceName(key, SPACE, 1, name).length, `${bytes} bytes`).to.equal(41 + 64 * (Math.floor(bytes / 64) + 1));
      }
      // the longest name (80 four-byte characters) is 320 bytes: the largest envelope is 425 bytes
      expect(format).to.include('425 bytes');
    });
  });

  describe('pins', () => {
    const userId = '2b9e4d71-8c3f-4a6e-b5d2-7f1a0c9e3b48';
    const someone = '7d0c6f1e-3b2a-4c5d-9e8f-0a1b2c3d4e5f';
    const pins = (): Pins => ({
      v: 1,
      users: {
        [someone]: { fp: 'ab'.repeat(32), verified: true, seen: 1700000000000, verifiedAt: 1700000600000 },
        [OTHER_DOC]: { fp: 'cd'.repeat(32), verified: false, seen: 1700000000000, verifiedAt: null },
      },
      spaces: { [SPACE]: 3 },
    });

    it('round-trip', () => {
      const accountKey = newSpaceKey();
      expect(openPins(accountKey, userId, sealPins(accountKey, userId, pins()))).to.deep.equal(pins());
      expect(openPins(accountKey, userId, sealPins(accountKey, userId, emptyPins()))).to.deep.equal(emptyPins());
    });

    it("of another user (the server swapping two people's pins) do not open", () => {
      const accountKey = newSpaceKey();
      const env = sealPins(accountKey, someone, pins());
      expect(cryptoError(() => openPins(accountKey, userId, env)).code).to.equal('auth');
    });

    it('refuse malformed JSON and every shape sealPins never writes', () => {
      const accountKey = newSpaceKey();
      const sealedText = (text: string) => aeadSeal(accountKey, utf8(text), ad('pins', userId));
      const p = pins();
      const pin = p.users[someone];
      const bad: [string, string][] = [
        ['not JSON', '{"v":1,"users":{},'],
        ['a list', '[]'],
        ['null', 'null'],
        ['version 2', JSON.stringify({ ...p, v: 2 })],
        ['no spaces', JSON.stringify({ v: 1, users: p.users })],
        ['users as a list', JSON.stringify({ ...p, users: [] })],
        ['a user ID that is not a UUID', JSON.stringify({ ...p, users: { ben: pin } })],
        ['a fingerprint of 63 hex digits', JSON.stringify({ ...p, users: { [someone]: { ...pin, fp: 'a'.repeat(63) } } })],
        ['an uppercase fingerprint', JSON.stringify({ ...p, users: { [someone]: { ...pin, fp: 'AB'.repeat(32) } } })],
        ['verified as text', JSON.stringify({ ...p, users: { [someone]: { ...pin, verified: 'yes' } } })],
        ['no verifiedAt', JSON.stringify({ ...p, users: { [someone]: { fp: 'ab'.repeat(32), verified: false, seen: 1 } } })],
        ['generation 0', JSON.stringify({ ...p, spaces: { [SPACE]: 0 } })],
        ['generation as text', JSON.stringify({ ...p, spaces: { [SPACE]: '2' } })],
      ];
      for (const [what, text] of bad) {
        expect(cryptoError(() => openPins(accountKey, userId, sealedText(text))).code, what).to.equal('encoding');
      }
      expect(cryptoError(() => sealPins(accountKey, userId, { ...p, spaces: { [SPACE]: 0 } })).code).to.equal('encoding');
    });

    it('catch a changed public key: the fingerprint of another key set differs from the pinned one', () => {
      // What trust.ts does with a pin, at the level of bytes: same keys, same fingerprint; any key replaced
      // (the encryption key, the signing key, or both) gives another fingerprint and other words.
      const pinned = fingerprint(ben.signPk, ben.boxPk);
      expect(fingerprint(ben.signPk, ben.boxPk).hex).to.equal(pinned.hex);
      const swapped = person(ben.id);
      for (const [what, fp] of [
        ['both keys', fingerprint(swapped.signPk, swapped.boxPk)],
        ['the encryption key', fingerprint(ben.signPk, swapped.boxPk)],
        ['the signing key', fingerprint(swapped.signPk, ben.boxPk)],
        ['the two keys in the other order', fingerprint(ben.boxPk, ben.signPk)],
      ] as const) {
        expect(fp.hex, what).to.not.equal(pinned.hex);
        expect(fp.words.join(' '), what).to.not.equal(pinned.words.join(' '));
      }
      const accountKey = newSpaceKey();
      const stored = openPins(accountKey, userId, sealPins(accountKey, userId, {
        v: 1,
        users: { [ben.id]: { fp: pinned.hex, verified: true, seen: 1, verifiedAt: 2 } },
        spaces: {},
      }));
      expect(stored.users[ben.id]?.fp).to.equal(pinned.hex);
      expect(stored.users[ben.id]?.fp).to.not.equal(fingerprint(swapped.signPk, swapped.boxPk).hex);
    });
  });

  describe('signature checks the server runs on request bodies', () => {
    const garbage: unknown[] = [undefined, null, '', 'abc', 5, {}, [1, 2, 3], new Uint8Array(0), new Uint8Array(200)];

    it('answer false, never throw, whatever is in place of the key, the signature, the IDs or the sealed box', () => {
      const grant = sealGrant(newDocKey(), DOC, ben.id, ben.boxPk, anna.signSk);
      const key = sealSpaceKey(newSpaceKey(), SPACE, ben.id, 1, ben.boxPk, anna.signSk);
      for (const g of garbage) {
        const x = g as Uint8Array & string & number;
        const label = Object.prototype.toString.call(g) + ' ' + String(g).slice(0, 20);
        expect(verifyGrantSignature(x, grant.sig, DOC, ben.id, grant.sealed), `signPk ${label}`).to.equal(false);
        expect(verifyGrantSignature(anna.signPk, x, DOC, ben.id, grant.sealed), `sig ${label}`).to.equal(false);
        expect(verifyGrantSignature(anna.signPk, grant.sig, x, ben.id, grant.sealed), `docId ${label}`).to.equal(false);
        expect(verifyGrantSignature(anna.signPk, grant.sig, DOC, x, grant.sealed), `recipientId ${label}`).to.equal(false);
        expect(verifyGrantSignature(anna.signPk, grant.sig, DOC, ben.id, x), `sealed ${label}`).to.equal(false);
        expect(verifySpaceKeySignature(x, key.sig, SPACE, ben.id, 1, key.sealed), `signPk ${label}`).to.equal(false);
        expect(verifySpaceKeySignature(anna.signPk, x, SPACE, ben.id, 1, key.sealed), `sig ${label}`).to.equal(false);
        expect(verifySpaceKeySignature(anna.signPk, key.sig, x, ben.id, 1, key.sealed), `spaceId ${label}`).to.equal(false);
        expect(verifySpaceKeySignature(anna.signPk, key.sig, SPACE, x, 1, key.sealed), `memberId ${label}`).to.equal(false);
        expect(verifySpaceKeySignature(anna.signPk, key.sig, SPACE, ben.id, x, key.sealed), `g ${label}`).to.equal(false);
        expect(verifySpaceKeySignature(anna.signPk, key.sig, SPACE, ben.id, 1, x), `sealed ${label}`).to.equal(false);
      }
      // and true for the real thing, so the loop above is not passing on a function that always says no
      expect(verifyGrantSignature(anna.signPk, grant.sig, DOC, ben.id, grant.sealed)).to.equal(true);
      expect(verifySpaceKeySignature(anna.signPk, key.sig, SPACE, ben.id, 1, key.sealed)).to.equal(true);
    });

    it('refuse a grant whose sealed box is missing with a signature error, not a crash', () => {
      const grant = sealGrant(newDocKey(), DOC, ben.id, ben.boxPk, anna.signSk);
      const broken = { sig: grant.sig, sealed: undefined } as unknown as SignedSeal;
      expect(cryptoError(() => openGrant(broken, DOC, ben.id, anna.signPk, ben.boxPk, ben.boxSk)).code).to.equal('signature');
      expect(cryptoError(() => openSpaceKey(broken, SPACE, ben.id, 1, anna.signPk, ben.boxPk, ben.boxSk)).code).to.equal('signature');
    });
  });
});

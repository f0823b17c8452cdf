/**
 * Checks docs/test-vectors/sharing.json with the crypto core (crypto.md "Sharing and spaces", "Fingerprints"),
 * in Node (test/unit/test-vectors.test.ts) and in Chromium (test/browser/vectors.ts), like the other files.
 *
 * The generator fixes the ephemeral key of each crypto_box_seal, which the core never does (it must not), so
 * sealed boxes are not re-sealed here: they are OPENED with the recipient's secret key through the core's
 * openGrant/openSpaceKey (libsodium's own crypto_box_seal_open), and their signatures, which Ed25519 makes
 * deterministically, are recomputed byte for byte. Everything with a nonce is recomputed byte for byte.
 */
import { concatBytes, fromB64, toB64, toHex, utf8 } from './encoding.js';
import { adString, aeadOpen, sign } from './primitives.js';
import { getSodium, ready } from './sodium.js';
import { fingerprint } from './fingerprint.js';
import {
  SEALED_KEY_BYTES,
  grantMessage,
  openGrant,
  openSpaceKey,
  openSpaceName,
  sealGrant,
  sealSpaceKey,
  sealSpaceName,
  spaceKeyMessage,
  unwrapDocKeyForSpace,
  verifyGrantSignature,
  verifySpaceKeySignature,
  wrapDocKeyForSpace,
  type SignedSeal,
} from './sharing.js';
import { openPins, sealPins, type Pins } from './pins.js';
import { OTHER_ID, checker, expectCryptoError, reader, type VectorReport } from './vector-check.js';

export async function checkSharingVectors(data: unknown): Promise<VectorReport> {
  await ready();
  const file = 'sharing.json';
  const v = reader(data, file);
  const { check, sameHex, refusesTampering, report } = checker(v, file);
  const s = getSodium();

  let sharerId = '';
  let recipientId = '';
  let docId = '';
  let spaceId = '';
  let g = 0;
  try {
    sharerId = v.str('inputs.sharer.userId');
    recipientId = v.str('inputs.recipient.userId');
    docId = v.str('inputs.docId');
    spaceId = v.str('inputs.spaceId');
    const gen = v.at('inputs.generation');
    if (typeof gen !== 'number') throw new Error(`${file} field inputs.generation is not a number`);
    g = gen;
  } catch (e) {
    return { ok: false, failures: [e instanceof Error ? e.message : String(e)], checked: 1 };
  }

  const sharerBox = () => s.crypto_box_seed_keypair(v.bytes('inputs.sharer.boxSeed'));
  const sharerSign = () => s.crypto_sign_seed_keypair(v.bytes('inputs.sharer.signSeed'));
  const recipientBox = () => s.crypto_box_seed_keypair(v.bytes('inputs.recipient.boxSeed'));
  const recipientSign = () => s.crypto_sign_seed_keypair(v.bytes('inputs.recipient.signSeed'));
  const docKey = () => v.bytes('inputs.docKey');
  const spaceKey = () => v.bytes('inputs.spaceKey');
  const nonce = (name: string) => v.bytes(`inputs.nonces.${name}`);
  const seal = (name: 'grant' | 'spaceKey'): SignedSeal => ({
    sealed: v.bytes(`outputs.${name}.sealed`),
    sig: v.bytes(`outputs.${name}.sig`),
  });
  /** The recipient opening something sealed to them: their own box key pair. */
  const mine = () => {
    const box = recipientBox();
    return [box.publicKey, box.privateKey] as const;
  };

  // AD ---------------------------------------------------------------------------------------------------
  const adParts: Record<string, string[]> = {
    grant: ['grant', docId, recipientId],
    spaceKey: ['space-key', spaceId, recipientId, String(g)],
    spaceDocKey: ['doc-key', docId, 'space', spaceId, String(g)],
    spaceName: ['space-name', spaceId, String(g)],
    pins: ['pins', recipientId],
  };
  for (const [name, parts] of Object.entries(adParts)) {
    check(`ad.${name}`, () => adString(...parts) === v.str(`ad.${name}`));
  }

  // Key pairs and fingerprints ------------------------------------------------------------------------------
  sameHex('outputs.sharerBoxPk', () => sharerBox().publicKey, 'outputs.sharerBoxPk');
  sameHex('outputs.sharerSignPk', () => sharerSign().publicKey, 'outputs.sharerSignPk');
  sameHex('outputs.recipientBoxPk', () => recipientBox().publicKey, 'outputs.recipientBoxPk');
  sameHex('outputs.recipientBoxSk', () => recipientBox().privateKey, 'outputs.recipientBoxSk');
  sameHex('outputs.recipientSignPk', () => recipientSign().publicKey, 'outputs.recipientSignPk');
  check('outputs.sharerFingerprintHex', () => {
    const got = fingerprint(sharerSign().publicKey, sharerBox().publicKey).hex;
    return got === v.str('outputs.sharerFingerprintHex') || `computed ${got}`;
  });
  check('outputs.recipientFingerprintHex', () => {
    const got = fingerprint(recipientSign().publicKey, recipientBox().publicKey).hex;
    return got === v.str('outputs.recipientFingerprintHex') || `computed ${got}`;
  });
  check('outputs.recipientFingerprintWords', () => {
    const got = fingerprint(recipientSign().publicKey, recipientBox().publicKey).words.join(' ');
    const want = v.at('outputs.recipientFingerprintWords');
    return (Array.isArray(want) && got === want.join(' ')) || `computed "${got}"`;
  });

  // Sealed and signed keys: the grant, and the space key of the recipient as a member ---------------------------
  const signedSeal = (
    name: 'grant' | 'spaceKey',
    message: (sealed: Uint8Array) => Uint8Array,
    open: (x: SignedSeal, signerPk: Uint8Array, myPk: Uint8Array, mySk: Uint8Array) => Uint8Array,
    verifyAs: (sig: Uint8Array, sealed: Uint8Array, signerPk: Uint8Array) => boolean,
    opensTo: string,
  ) => {
    const out = `outputs.${name}`;
    check(`${out}.sealed is ${SEALED_KEY_BYTES} bytes: ${out}.ephemeralPk, then the box`, () => {
      const sealed = v.str(`${out}.sealed`);
      return sealed.length === SEALED_KEY_BYTES * 2 && sealed.startsWith(v.str(`${out}.ephemeralPk`));
    });
    check(`${out}.nonce is BLAKE2b-192 of ${out}.ephemeralPk and the recipient's box key`, () => {
      const n = s.crypto_generichash(24, concatBytes(v.bytes(`${out}.ephemeralPk`), recipientBox().publicKey), null);
      return toHex(n) === v.str(`${out}.nonce`);
    });
    sameHex(`${out}.message`, () => message(v.bytes(`${out}.sealed`)), `${out}.message`);
    // Ed25519 is deterministic: the sharer's key and the message give exactly these 64 bytes.
    sameHex(`${out}.sig`, () => sign(sharerSign().privateKey, message(v.bytes(`${out}.sealed`))), `${out}.sig`);
    check(`${out}.sig verifies against the sharer's key`, () => verifyAs(seal(name).sig, seal(name).sealed, sharerSign().publicKey));
    sameHex(`${out} opens to ${opensTo}`, () => open(seal(name), sharerSign().publicKey, ...mine()), opensTo);
    check(`${out} is refused as signed by someone else (the recipient's own key)`, () =>
      expectCryptoError(() => open(seal(name), recipientSign().publicKey, ...mine()), 'signature'),
    );
    check(`${out} is refused by anyone it was not sealed to (the sharer)`, () => {
      const box = sharerBox();
      return expectCryptoError(() => open(seal(name), sharerSign().publicKey, box.publicKey, box.privateKey), 'auth');
    });
    check(`${out} is refused with a flipped byte in the sealed box (the signature no longer covers it)`, () => {
      const x = seal(name);
      x.sealed[40] = (x.sealed[40] ?? 0) ^ 0x01;
      return expectCryptoError(() => open(x, sharerSign().publicKey, ...mine()), 'signature');
    });
    check(`${out} is refused with a flipped byte in the signature`, () => {
      const x = seal(name);
      x.sig[0] = (x.sig[0] ?? 0) ^ 0x01;
      return expectCryptoError(() => open(x, sharerSign().publicKey, ...mine()), 'signature');
    });
    check(`${out}: the core's own seal (random ephemeral key) is ${SEALED_KEY_BYTES} bytes and opens again`, () => {
      const box = recipientBox();
      const fresh = name === 'grant'
        ? sealGrant(docKey(), docId, recipientId, box.publicKey, sharerSign().privateKey)
        : sealSpaceKey(spaceKey(), spaceId, recipientId, g, box.publicKey, sharerSign().privateKey);
      return fresh.sealed.length === SEALED_KEY_BYTES && toHex(open(fresh, sharerSign().publicKey, ...mine())) === v.str(opensTo);
    });
  };

  signedSeal(
    'grant',
    (sealed) => grantMessage(docId, recipientId, sealed),
    (x, signerPk, pk, sk) => openGrant(x, docId, recipientId, signerPk, pk, sk),
    (sig, sealed, pk) => verifyGrantSignature(pk, sig, docId, recipientId, sealed),
    'inputs.docKey',
  );
  check('outputs.grant is refused as another document or for another recipient', () => {
    const a = expectCryptoError(() => openGrant(seal('grant'), OTHER_ID, recipientId, sharerSign().publicKey, ...mine()), 'signature');
    const b = expectCryptoError(() => openGrant(seal('grant'), docId, OTHER_ID, sharerSign().publicKey, ...mine()), 'signature');
    return a === true ? b : a;
  });

  signedSeal(
    'spaceKey',
    (sealed) => spaceKeyMessage(spaceId, recipientId, g, sealed),
    (x, signerPk, pk, sk) => openSpaceKey(x, spaceId, recipientId, g, signerPk, pk, sk),
    (sig, sealed, pk) => verifySpaceKeySignature(pk, sig, spaceId, recipientId, g, sealed),
    'inputs.spaceKey',
  );
  check('outputs.spaceKey is refused as another generation, space or member', () => {
    const [pk, sk] = mine();
    const signer = sharerSign().publicKey;
    for (const [space, member, gen] of [[spaceId, recipientId, g + 1], [OTHER_ID, recipientId, g], [spaceId, OTHER_ID, g]] as const) {
      const r = expectCryptoError(() => openSpaceKey(seal('spaceKey'), space, member, gen, signer, pk, sk), 'signature');
      if (r !== true) return `${space}/${member}/${gen}: ${r}`;
    }
    return true;
  });

  // The document key under the space key ------------------------------------------------------------------
  sameHex(
    'outputs.spaceDocKeyWrap',
    () => wrapDocKeyForSpace(spaceKey(), docKey(), docId, spaceId, g, nonce('spaceDocKey')),
    'outputs.spaceDocKeyWrap',
  );
  sameHex(
    'outputs.spaceDocKeyWrap opens to inputs.docKey',
    () => unwrapDocKeyForSpace(spaceKey(), v.bytes('outputs.spaceDocKeyWrap'), docId, spaceId, g),
    'inputs.docKey',
  );
  refusesTampering(
    'outputs.spaceDocKeyWrap',
    (e) => unwrapDocKeyForSpace(spaceKey(), e, docId, spaceId, g),
    'outputs.spaceDocKeyWrap',
  );
  check('outputs.spaceDocKeyWrap refuses another generation, space or document', () => {
    const env = v.bytes('outputs.spaceDocKeyWrap');
    for (const [doc, space, gen] of [[docId, spaceId, g - 1], [docId, OTHER_ID, g], [OTHER_ID, spaceId, g]] as const) {
      const r = expectCryptoError(() => unwrapDocKeyForSpace(spaceKey(), env, doc, space, gen), 'auth');
      if (r !== true) return `${doc}/${space}/${gen}: ${r}`;
    }
    return true;
  });

  // The space's name ----------------------------------------------------------------------------------------
  check('outputs.spaceNamePadded is inputs.spaceName padded to 64', () =>
    toHex(s.pad(utf8(v.str('inputs.spaceName')), 64)) === v.str('outputs.spaceNamePadded'),
  );
  sameHex(
    'outputs.spaceNameEnvelope',
    () => sealSpaceName(spaceKey(), spaceId, g, v.str('inputs.spaceName'), nonce('spaceName')),
    'outputs.spaceNameEnvelope',
  );
  sameHex(
    'outputs.spaceNameEnvelope opens to outputs.spaceNamePadded',
    () => aeadOpen(spaceKey(), v.bytes('outputs.spaceNameEnvelope'), utf8(v.str('ad.spaceName'))),
    'outputs.spaceNamePadded',
  );
  check('outputs.spaceNameEnvelope opens to inputs.spaceName', () =>
    openSpaceName(spaceKey(), spaceId, g, v.bytes('outputs.spaceNameEnvelope')) === v.str('inputs.spaceName'),
  );
  refusesTampering('outputs.spaceNameEnvelope', (e) => openSpaceName(spaceKey(), spaceId, g, e), 'outputs.spaceNameEnvelope');
  check('outputs.spaceNameEnvelope refuses another generation', () =>
    expectCryptoError(() => openSpaceName(spaceKey(), spaceId, g + 1, v.bytes('outputs.spaceNameEnvelope')), 'auth'),
  );

  // Pins ------------------------------------------------------------------------------------------------------
  const accountKey = () => v.bytes('inputs.recipient.accountKey');
  const pins = () => v.at('inputs.pins') as Pins;
  check('outputs.pinsJson is inputs.pins as compact JSON', () => JSON.stringify(pins()) === v.str('outputs.pinsJson'));
  sameHex('outputs.pinsEnvelope', () => sealPins(accountKey(), recipientId, pins(), nonce('pins')), 'outputs.pinsEnvelope');
  check('outputs.pinsEnvelope opens to inputs.pins', () =>
    JSON.stringify(openPins(accountKey(), recipientId, v.bytes('outputs.pinsEnvelope'))) === v.str('outputs.pinsJson'),
  );
  refusesTampering('outputs.pinsEnvelope', (e) => openPins(accountKey(), recipientId, e), 'outputs.pinsEnvelope');
  check("outputs.pinsEnvelope refuses to open as another user's pins", () =>
    expectCryptoError(() => openPins(accountKey(), sharerId, v.bytes('outputs.pinsEnvelope')), 'auth'),
  );
  check("the sharer's pin holds the sharer's fingerprint, and the recipient's does not match it", () => {
    const pin = pins().users[sharerId];
    const sharerFp = fingerprint(sharerSign().publicKey, sharerBox().publicKey).hex;
    const otherFp = fingerprint(recipientSign().publicKey, recipientBox().publicKey).hex;
    return (pin !== undefined && pin.fp === sharerFp && pin.fp !== otherFp) || 'pin and fingerprint disagree';
  });
  check('inputs.pins remembers inputs.generation for the space', () => pins().spaces[spaceId] === g);

  // What a client sends and receives (b64) ------------------------------------------------------------------
  const sameB64 = (path: string, hexPath: string) =>
    check(`${path} is ${hexPath} in b64`, () => {
      const got = toB64(v.bytes(hexPath));
      return got === v.str(path) || `computed ${got}`;
    });
  sameB64('api.grant.sealed', 'outputs.grant.sealed');
  sameB64('api.grant.sig', 'outputs.grant.sig');
  check('api.grant names inputs.docId and the recipient', () =>
    v.str('api.grant.documentId') === docId && v.str('api.grant.recipientId') === recipientId,
  );
  sameB64('api.spaceKey.sealed', 'outputs.spaceKey.sealed');
  sameB64('api.spaceKey.sig', 'outputs.spaceKey.sig');
  check('api.spaceKey.generation is inputs.generation', () => v.at('api.spaceKey.generation') === g);
  sameB64('api.spaceKeyWrap', 'outputs.spaceDocKeyWrap');
  sameB64('api.spaceName', 'outputs.spaceNameEnvelope');
  sameB64('api.pins', 'outputs.pinsEnvelope');
  check('api.grant.sig verifies as the server checks it (verifyGrantSignature on the decoded b64)', () =>
    verifyGrantSignature(sharerSign().publicKey, fromB64(v.str('api.grant.sig')), docId, recipientId, fromB64(v.str('api.grant.sealed'))),
  );

  return report();
}

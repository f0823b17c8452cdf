/**
 * Recomputes docs/test-vectors/keys.json (checkVectors) and checks docs/test-vectors/document.json
 * (checkDocumentVectors) with the crypto core, and reports every difference. sharing.json has its own
 * checker, vector-check-sharing.ts, built from the helpers exported here.
 * Shared by the Node test (test/unit/test-vectors.test.ts) and the browser bundle (test/browser/vectors.ts),
 * so both runtimes run the very same checks (crypto.md principle 5). Takes the parsed JSON; does no I/O.
 * Not re-exported from index.ts: the app has no use for it.
 */
import { CryptoError } from './errors.js';
import { concatBytes, fromB64, fromHex, toB64, toHex, utf8 } from './encoding.js';
import { adString, aeadOpen, kdf } from './primitives.js';
import { getSodium, ready } from './sodium.js';
import {
  BLOB_HEADER_BYTES,
  BlobDecryptor,
  CHUNK_OVERHEAD,
  blobSize,
  decryptBlob,
  encryptBlob,
  openDocMeta,
  sealDocMeta,
  unwrapDocKeyForOwner,
  wrapDocKeyForOwner,
  type DocMeta,
} from './document.js';
import {
  checkKdfParams,
  deriveLoginKeys,
  deriveMasterKey,
  passwordBytes,
  unwrapAccountKeyWithPassword,
  wrapAccountKeyWithPassword,
} from './password.js';
import {
  deriveRecoveryKeys,
  recoveryKeyToWords,
  unwrapAccountKeyWithRecovery,
  wordsToRecoveryKey,
  wrapAccountKeyWithRecovery,
} from './recovery.js';
import { openPrivateKeys, sealPrivateKeys, selfSignatureMessage, signSelf, verifySelfSignature } from './identity.js';
import { createAccountFrom, openAccountWithKek, type Registration } from './account.js';
import { fingerprint } from './fingerprint.js';
import {
  authHashMatches,
  computeAuthHash,
  deriveServerKeys,
  fakeSalt,
  serverUnwrap,
  serverWrap,
  unwrapTotpSecret,
  wrapTotpSecret,
} from './server.js';

export interface VectorReport {
  ok: boolean;
  /** One sentence per failed check, naming the field. */
  failures: string[];
  /** How many checks ran, so a caller can tell "all passed" from "nothing ran". */
  checked: number;
}

const REGISTRATION_FIELDS: (keyof Registration)[] = [
  'authKey',
  'passwordWrappedAccountKey',
  'encPrivateKeys',
  'boxPk',
  'signPk',
  'recoveryWrappedAccountKey',
  'recoveryAuthPk',
  'selfSignature',
];

/** Reads a string at a dotted path of the parsed JSON, failing with the file and path in the message. */
export function reader(data: unknown, file = 'keys.json') {
  const at = (path: string): unknown => {
    let node: unknown = data;
    for (const key of path.split('.')) {
      if (typeof node !== 'object' || node === null || !(key in node)) {
        throw new Error(`${file} has no field ${path}`);
      }
      node = (node as Record<string, unknown>)[key];
    }
    return node;
  };
  const str = (path: string): string => {
    const v = at(path);
    if (typeof v !== 'string') throw new Error(`${file} field ${path} is not a string`);
    return v;
  };
  return { at, str, bytes: (path: string) => fromHex(str(path)) };
}

/** The check helpers every vector file uses; each failure is one sentence starting with the field's name. */
export function checker(v: ReturnType<typeof reader>, file: string) {
  const failures: string[] = [];
  let checked = 0;

  /** Runs one check; an exception is a failure too (a missing field must not pass silently). */
  const check = (name: string, fn: () => boolean | string): void => {
    checked++;
    try {
      const result = fn();
      if (result !== true) failures.push(`${name}: ${result === false ? 'does not match' : result}`);
    } catch (e) {
      failures.push(`${name}: threw ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const sameHex = (name: string, actual: () => Uint8Array, expectedPath: string): void =>
    check(name, () => {
      const got = toHex(actual());
      const want = v.str(expectedPath);
      return got === want || `computed ${got}, ${file} has ${want}`;
    });
  /** The envelope must refuse a flipped last byte (auth) and an unknown version byte (version). */
  const refusesTampering = (name: string, open: (envelope: Uint8Array) => unknown, path: string): void => {
    check(`${name} refuses a flipped byte`, () => {
      const bad = v.bytes(path);
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x01;
      return expectCryptoError(() => open(bad), 'auth');
    });
    check(`${name} refuses an unknown version byte`, () => {
      const bad = v.bytes(path);
      bad[0] = 0x02;
      return expectCryptoError(() => open(bad), 'version');
    });
  };
  const report = (): VectorReport => ({ ok: failures.length === 0 && checked > 0, failures, checked });
  return { check, sameHex, refusesTampering, report };
}

export async function checkVectors(data: unknown): Promise<VectorReport> {
  await ready();
  const v = reader(data);
  const { check, sameHex, refusesTampering, report } = checker(v, 'keys.json');

  // Inputs ---------------------------------------------------------------------------------------------
  let password = '';
  let passwordAlt = '';
  let userId = '';
  try {
    password = v.str('inputs.password');
    passwordAlt = v.str('inputs.passwordAlt');
    userId = v.str('inputs.userId');
  } catch (e) {
    return { ok: false, failures: [e instanceof Error ? e.message : String(e)], checked: 1 };
  }
  const kdfParams = () => checkKdfParams(v.at('inputs.kdf'));
  const accountKey = () => v.bytes('inputs.accountKey');
  const recoveryKey = () => v.bytes('inputs.recoveryKey');
  const nonce = (name: string) => v.bytes(`inputs.nonces.${name}`);
  const s = getSodium();
  const boxPair = () => s.crypto_box_seed_keypair(v.bytes('inputs.boxSeed'));
  const signPair = () => s.crypto_sign_seed_keypair(v.bytes('inputs.signSeed'));

  check('inputs.passwordUtf8', () => toHex(new TextEncoder().encode(password)) === v.str('inputs.passwordUtf8'));
  check('inputs.saltHex is kdf.salt', () => toHex(fromB64(kdfParams().salt)) === v.str('inputs.saltHex'));

  // AD strings -----------------------------------------------------------------------------------------
  const adParts: Record<string, string[]> = {
    passwordWrap: ['account-key', 'password', userId],
    serverWrap: ['server-wrap', userId],
    recoveryWrap: ['account-key', 'recovery', userId],
    privateKeys: ['private-keys', userId],
    identity: ['identity', userId],
    totp: ['totp', userId],
  };
  for (const [name, parts] of Object.entries(adParts)) {
    check(`ad.${name}`, () => adString(...parts) === v.str(`ad.${name}`));
  }

  // Password ------------------------------------------------------------------------------------------
  sameHex('outputs.passwordNfkcUtf8', () => passwordBytes(password), 'outputs.passwordNfkcUtf8');
  sameHex('passwordAlt normalises to the same bytes', () => passwordBytes(passwordAlt), 'outputs.passwordNfkcUtf8');
  sameHex('outputs.masterKey', () => deriveMasterKey(password, kdfParams()), 'outputs.masterKey');
  sameHex('outputs.masterKey from passwordAlt', () => deriveMasterKey(passwordAlt, kdfParams()), 'outputs.masterKey');
  const loginKeys = () => deriveLoginKeys(v.bytes('outputs.masterKey'));
  sameHex('outputs.authKey', () => loginKeys().authKey, 'outputs.authKey');
  sameHex('outputs.passwordKek', () => loginKeys().passwordKek, 'outputs.passwordKek');
  const passwordKek = () => v.bytes('outputs.passwordKek');
  sameHex(
    'outputs.passwordWrappedAccountKey',
    () => wrapAccountKeyWithPassword(passwordKek(), accountKey(), userId, nonce('passwordWrap')),
    'outputs.passwordWrappedAccountKey',
  );
  sameHex(
    'outputs.passwordWrappedAccountKey opens to inputs.accountKey',
    () => unwrapAccountKeyWithPassword(passwordKek(), v.bytes('outputs.passwordWrappedAccountKey'), userId),
    'inputs.accountKey',
  );
  refusesTampering(
    'outputs.passwordWrappedAccountKey',
    (e) => unwrapAccountKeyWithPassword(passwordKek(), e, userId),
    'outputs.passwordWrappedAccountKey',
  );

  // Server key ----------------------------------------------------------------------------------------
  const serverKeys = () => deriveServerKeys(v.bytes('inputs.serverKey'));
  sameHex('outputs.serverAuthKey', () => serverKeys().authKey, 'outputs.serverAuthKey');
  sameHex('outputs.serverWrapKey', () => serverKeys().wrapKey, 'outputs.serverWrapKey');
  sameHex('outputs.serverFakeSaltKey', () => serverKeys().fakeSaltKey, 'outputs.serverFakeSaltKey');
  sameHex('outputs.serverTotpKey', () => serverKeys().totpKey, 'outputs.serverTotpKey');
  sameHex('outputs.serverCookieKey', () => serverKeys().cookieKey, 'outputs.serverCookieKey');
  check('outputs.serverCookieSecret is outputs.serverCookieKey in b64', () => {
    const got = toB64(serverKeys().cookieKey);
    const want = v.str('outputs.serverCookieSecret');
    return got === want || `computed ${got}, keys.json has ${want}`;
  });
  check('the five server subkeys all differ', () => {
    const k = serverKeys();
    return new Set([k.authKey, k.wrapKey, k.fakeSaltKey, k.totpKey, k.cookieKey].map(toHex)).size === 5;
  });
  sameHex('outputs.authHash', () => computeAuthHash(serverKeys().authKey, v.bytes('outputs.authKey')), 'outputs.authHash');
  check('outputs.authHash matches authKey', () =>
    authHashMatches(serverKeys().authKey, v.bytes('outputs.authKey'), v.bytes('outputs.authHash')),
  );
  check('outputs.authHash does not match another authKey', () => {
    const other = v.bytes('outputs.authKey');
    other[0] = (other[0] ?? 0) ^ 0x80;
    return !authHashMatches(serverKeys().authKey, other, v.bytes('outputs.authHash'));
  });
  sameHex('outputs.fakeSalt', () => fakeSalt(serverKeys().fakeSaltKey, v.str('inputs.username')), 'outputs.fakeSalt');
  const serverWrapKey = () => v.bytes('outputs.serverWrapKey');
  sameHex(
    'outputs.serverWrappedAccountKey',
    () => serverWrap(serverWrapKey(), userId, v.bytes('outputs.passwordWrappedAccountKey'), nonce('serverWrap')),
    'outputs.serverWrappedAccountKey',
  );
  sameHex(
    'outputs.serverWrappedAccountKey opens to outputs.passwordWrappedAccountKey',
    () => serverUnwrap(serverWrapKey(), userId, v.bytes('outputs.serverWrappedAccountKey')),
    'outputs.passwordWrappedAccountKey',
  );
  refusesTampering(
    'outputs.serverWrappedAccountKey',
    (e) => serverUnwrap(serverWrapKey(), userId, e),
    'outputs.serverWrappedAccountKey',
  );
  const totpKey = () => v.bytes('outputs.serverTotpKey');
  sameHex(
    'outputs.totpEnvelope',
    () => wrapTotpSecret(totpKey(), userId, v.str('inputs.totpSecret'), nonce('totp')),
    'outputs.totpEnvelope',
  );
  check(
    'outputs.totpEnvelope opens to inputs.totpSecret',
    () => unwrapTotpSecret(totpKey(), userId, v.bytes('outputs.totpEnvelope')) === v.str('inputs.totpSecret'),
  );
  refusesTampering('outputs.totpEnvelope', (e) => unwrapTotpSecret(totpKey(), userId, e), 'outputs.totpEnvelope');

  // Key pairs -----------------------------------------------------------------------------------------
  sameHex('outputs.boxPk', () => boxPair().publicKey, 'outputs.boxPk');
  sameHex('outputs.boxSk', () => boxPair().privateKey, 'outputs.boxSk');
  sameHex('outputs.signPk', () => signPair().publicKey, 'outputs.signPk');
  sameHex('outputs.signSk', () => signPair().privateKey, 'outputs.signSk');
  sameHex(
    'outputs.encPrivateKeys',
    () => sealPrivateKeys(accountKey(), v.bytes('outputs.boxSk'), v.bytes('outputs.signSk'), userId, nonce('privateKeys')),
    'outputs.encPrivateKeys',
  );
  check('outputs.encPrivateKeys opens to boxSk and signSk', () => {
    const keys = openPrivateKeys(accountKey(), v.bytes('outputs.encPrivateKeys'), userId);
    return toHex(keys.boxSk) === v.str('outputs.boxSk') && toHex(keys.signSk) === v.str('outputs.signSk');
  });
  refusesTampering(
    'outputs.encPrivateKeys',
    (e) => openPrivateKeys(accountKey(), e, userId),
    'outputs.encPrivateKeys',
  );

  // Recovery ------------------------------------------------------------------------------------------
  check('outputs.recoveryWords', () => recoveryKeyToWords(recoveryKey()) === v.str('outputs.recoveryWords'));
  sameHex('outputs.recoveryWords back to inputs.recoveryKey', () => wordsToRecoveryKey(v.str('outputs.recoveryWords')), 'inputs.recoveryKey');
  const recoveryKeys = () => deriveRecoveryKeys(recoveryKey());
  sameHex('outputs.recoveryWrapKey', () => recoveryKeys().recoveryWrapKey, 'outputs.recoveryWrapKey');
  // An Ed25519 secret key starts with its 32-byte seed.
  sameHex('outputs.recoveryAuthSeed', () => recoveryKeys().recoveryAuthKeyPair.privateKey.slice(0, 32), 'outputs.recoveryAuthSeed');
  sameHex('outputs.recoveryAuthPk', () => recoveryKeys().recoveryAuthKeyPair.publicKey, 'outputs.recoveryAuthPk');
  const recoveryWrapKey = () => v.bytes('outputs.recoveryWrapKey');
  sameHex(
    'outputs.recoveryWrappedAccountKey',
    () => wrapAccountKeyWithRecovery(recoveryWrapKey(), accountKey(), userId, nonce('recoveryWrap')),
    'outputs.recoveryWrappedAccountKey',
  );
  sameHex(
    'outputs.recoveryWrappedAccountKey opens to inputs.accountKey',
    () => unwrapAccountKeyWithRecovery(recoveryWrapKey(), v.bytes('outputs.recoveryWrappedAccountKey'), userId),
    'inputs.accountKey',
  );
  refusesTampering(
    'outputs.recoveryWrappedAccountKey',
    (e) => unwrapAccountKeyWithRecovery(recoveryWrapKey(), e, userId),
    'outputs.recoveryWrappedAccountKey',
  );

  // Identity ------------------------------------------------------------------------------------------
  const pks = () => ({
    boxPk: v.bytes('outputs.boxPk'),
    signPk: v.bytes('outputs.signPk'),
    recoveryAuthPk: v.bytes('outputs.recoveryAuthPk'),
  });
  sameHex(
    'outputs.selfSignatureMessage',
    () => {
      const p = pks();
      return selfSignatureMessage(userId, p.boxPk, p.signPk, p.recoveryAuthPk);
    },
    'outputs.selfSignatureMessage',
  );
  sameHex(
    'outputs.selfSignature',
    () => {
      const p = pks();
      return signSelf(v.bytes('outputs.signSk'), userId, p.boxPk, p.signPk, p.recoveryAuthPk);
    },
    'outputs.selfSignature',
  );
  check('outputs.selfSignature verifies', () => {
    const p = pks();
    return verifySelfSignature(p.signPk, v.bytes('outputs.selfSignature'), userId, p.boxPk, p.recoveryAuthPk);
  });
  check('outputs.fingerprintHex', () => {
    const p = pks();
    return fingerprint(p.signPk, p.boxPk).hex === v.str('outputs.fingerprintHex');
  });
  check('outputs.fingerprintWords', () => {
    const p = pks();
    const got = fingerprint(p.signPk, p.boxPk).words.join(' ');
    const want = v.at('outputs.fingerprintWords');
    return (Array.isArray(want) && got === want.join(' ')) || `computed "${got}"`;
  });

  // The whole registration, through the same function real sign-ups use -------------------------------
  check('registration (createAccountFrom)', () => {
    const box = boxPair();
    const sig = signPair();
    const account = createAccountFrom(userId, password, kdfParams(), {
      accountKey: accountKey(),
      boxKeyPair: { publicKey: box.publicKey, privateKey: box.privateKey },
      signKeyPair: { publicKey: sig.publicKey, privateKey: sig.privateKey },
      recoveryKey: recoveryKey(),
      nonces: { passwordWrap: nonce('passwordWrap'), recoveryWrap: nonce('recoveryWrap'), privateKeys: nonce('privateKeys') },
    });
    const wrong = REGISTRATION_FIELDS.filter((f) => account.registration[f] !== v.str(`registration.${f}`));
    if (account.recoveryWords !== v.str('outputs.recoveryWords')) wrong.push('recoveryWords' as keyof Registration);
    return wrong.length === 0 || `fields differ: ${wrong.join(', ')}`;
  });
  for (const f of REGISTRATION_FIELDS) {
    // Each b64 field carries the same bytes as its hex twin of the same name in outputs.
    check(`registration.${f} is outputs.${f} in b64`, () => toB64(v.bytes(`outputs.${f}`)) === v.str(`registration.${f}`));
  }
  check('registration opens with outputs.passwordKek (openAccountWithKek)', () => {
    const reg = (k: keyof Registration) => v.str(`registration.${k}`);
    const keys = openAccountWithKek(passwordKek(), userId, {
      passwordWrappedAccountKey: reg('passwordWrappedAccountKey'),
      encPrivateKeys: reg('encPrivateKeys'),
      boxPk: reg('boxPk'),
      signPk: reg('signPk'),
      recoveryAuthPk: reg('recoveryAuthPk'),
      selfSignature: reg('selfSignature'),
    });
    return toHex(keys.accountKey) === v.str('inputs.accountKey') && toHex(keys.signSk) === v.str('outputs.signSk');
  });

  return report();
}

/**
 * Checks docs/test-vectors/document.json. The blob cannot be recomputed (the core draws the secretstream
 * header at random, as it must), so the checker decrypts the stored blob with the core's BlobDecryptor,
 * checks that every kind of tampering is refused, and that the core's own encryption of the same plaintext
 * opens again. Metadata and the owner's wrap take a nonce, so those are recomputed byte for byte.
 */
/** A valid ID that is neither the vector's document nor its user. */
export const OTHER_ID = '00000000-0000-4000-8000-000000000000';

export async function checkDocumentVectors(data: unknown): Promise<VectorReport> {
  await ready();
  const file = 'document.json';
  const v = reader(data, file);
  const { check, sameHex, refusesTampering, report } = checker(v, file);
  let docId = '';
  let userId = '';
  let chunkSize = 0;
  try {
    docId = v.str('inputs.docId');
    userId = v.str('inputs.userId');
    const cs = v.at('inputs.chunkSize');
    if (typeof cs !== 'number') throw new Error(`${file} field inputs.chunkSize is not a number`);
    chunkSize = cs;
  } catch (e) {
    return { ok: false, failures: [e instanceof Error ? e.message : String(e)], checked: 1 };
  }
  const docKey = () => v.bytes('inputs.docKey');
  const accountKey = () => v.bytes('inputs.accountKey');
  const blob = () => v.bytes('outputs.blob');
  const plaintextHex = () => v.str('inputs.plaintextUtf8');
  const chunkHex = (): string[] => {
    const c = v.at('outputs.chunks');
    if (!Array.isArray(c) || !c.every((x) => typeof x === 'string')) throw new Error(`${file} outputs.chunks is not a list of hex`);
    return c as string[];
  };
  /** Bytes [from, to) of the blob's chunk area, by chunk index: chunk i starts at 32 + i × (chunkSize + 17). */
  const chunkStart = (i: number) => BLOB_HEADER_BYTES + i * (chunkSize + CHUNK_OVERHEAD);
  const refusesBlob = (name: string, make: (b: Uint8Array) => Uint8Array, code: CryptoError['code'], otherDoc?: string) =>
    check(`outputs.blob ${name}`, () => expectCryptoError(() => decryptBlob(docKey(), otherDoc ?? docId, make(blob())), code));

  // AD -------------------------------------------------------------------------------------------------
  check('ad.chunks is the bare document ID', () => v.str('ad.chunks') === docId);
  check('ad.meta', () => adString('doc-meta', docId) === v.str('ad.meta'));
  check('ad.ownerWrap', () => adString('doc-key', docId, userId) === v.str('ad.ownerWrap'));

  // Content blob ---------------------------------------------------------------------------------------
  check('inputs.plaintextUtf8 is inputs.plaintext', () => toHex(new TextEncoder().encode(v.str('inputs.plaintext'))) === plaintextHex());
  check('outputs.blobHeader is "HLB", 0x01, u32be(chunkSize), inputs.secretstreamHeader', () => {
    const h = new Uint8Array(8);
    h.set([0x48, 0x4c, 0x42, 0x01]);
    new DataView(h.buffer).setUint32(4, chunkSize, false);
    return toHex(h) + v.str('inputs.secretstreamHeader') === v.str('outputs.blobHeader');
  });
  check('outputs.blob is outputs.blobHeader followed by outputs.chunks', () =>
    v.str('outputs.blob') === v.str('outputs.blobHeader') + chunkHex().join(''),
  );
  check('outputs.blobSize is the length of outputs.blob and blobSize(plaintext, chunkSize)', () => {
    const n = fromHex(plaintextHex()).length;
    return blob().length === v.at('outputs.blobSize') && blobSize(n, chunkSize) === blob().length;
  });
  check('outputs.blob decrypts to inputs.plaintextUtf8, one chunk at a time, fed a byte at a time', () => {
    const dec = new BlobDecryptor(docKey(), docId);
    const b = blob();
    const out: Uint8Array[] = [];
    for (let i = 0; i < b.length; i++) out.push(...dec.push(b.subarray(i, i + 1)));
    out.push(...dec.finish());
    const want = fromHex(plaintextHex());
    const sizes = out.map((c) => c.length).join(',');
    const wantSizes = chunkHex().map((c, i) => Math.min(chunkSize, want.length - i * chunkSize)).join(',');
    if (sizes !== wantSizes) return `chunk sizes ${sizes}, expected ${wantSizes}`;
    return toHex(concatBytes(...out)) === toHex(want);
  });
  check('the core encrypts inputs.plaintextUtf8 to a blob of the same size that opens again', () => {
    const again = encryptBlob(docKey(), docId, fromHex(plaintextHex()), chunkSize);
    return again.length === blob().length && toHex(decryptBlob(docKey(), docId, again)) === plaintextHex();
  });
  const flip = (at: (b: Uint8Array) => number) => (b: Uint8Array) => {
    const i = at(b);
    b[i] = (b[i] ?? 0) ^ 0x01;
    return b;
  };
  refusesBlob('refuses a flipped byte in the first chunk', flip(() => chunkStart(0)), 'auth');
  refusesBlob('refuses a flipped byte in the middle chunk', flip(() => chunkStart(1) + 5), 'auth');
  refusesBlob('refuses a flipped byte in the last chunk', flip((b) => b.length - 1), 'auth');
  refusesBlob('refuses a flipped byte in the secretstream header', flip(() => 20), 'auth');
  refusesBlob('refuses a changed chunk size', flip(() => 7), 'auth');
  refusesBlob('refuses another magic', flip(() => 0), 'version');
  refusesBlob('refuses version 2', (b) => ((b[3] = 2), b), 'version');
  refusesBlob('refuses a missing last chunk', (b) => b.slice(0, chunkStart(2)), 'auth');
  refusesBlob('refuses a byte after the final chunk', (b) => concatBytes(b, Uint8Array.of(0)), 'auth');
  refusesBlob(
    'refuses the first two chunks swapped',
    (b) =>
      concatBytes(
        b.subarray(0, chunkStart(0)),
        b.subarray(chunkStart(1), chunkStart(2)),
        b.subarray(chunkStart(0), chunkStart(1)),
        b.subarray(chunkStart(2)),
      ),
    'auth',
  );
  refusesBlob('refuses to open as another document', (b) => b, 'auth', OTHER_ID);

  // Metadata -------------------------------------------------------------------------------------------
  const meta = () => v.at('inputs.meta') as DocMeta;
  sameHex('outputs.metaKey', () => kdf(docKey(), 1, 'HLDOCKEY'), 'outputs.metaKey');
  check('outputs.metaPadded is outputs.metaJson padded to 256', () => {
    const padded = getSodium().pad(new TextEncoder().encode(v.str('outputs.metaJson')), 256);
    return toHex(padded) === v.str('outputs.metaPadded');
  });
  sameHex('outputs.metaEnvelope', () => sealDocMeta(docKey(), docId, meta(), v.bytes('inputs.nonces.meta')), 'outputs.metaEnvelope');
  sameHex(
    'outputs.metaEnvelope opens to outputs.metaPadded',
    () => aeadOpen(v.bytes('outputs.metaKey'), v.bytes('outputs.metaEnvelope'), utf8(v.str('ad.meta'))),
    'outputs.metaPadded',
  );
  check('outputs.metaEnvelope opens to inputs.meta', () => {
    const got = JSON.stringify(openDocMeta(docKey(), docId, v.bytes('outputs.metaEnvelope')));
    return got === JSON.stringify(meta()) && got === v.str('outputs.metaJson');
  });
  refusesTampering('outputs.metaEnvelope', (e) => openDocMeta(docKey(), docId, e), 'outputs.metaEnvelope');
  check('outputs.metaEnvelope refuses to open as another document', () =>
    expectCryptoError(() => openDocMeta(docKey(), OTHER_ID, v.bytes('outputs.metaEnvelope')), 'auth'),
  );

  // The owner's wrap -----------------------------------------------------------------------------------
  sameHex(
    'outputs.ownerWrappedDocKey',
    () => wrapDocKeyForOwner(accountKey(), docKey(), docId, userId, v.bytes('inputs.nonces.ownerWrap')),
    'outputs.ownerWrappedDocKey',
  );
  sameHex(
    'outputs.ownerWrappedDocKey opens to inputs.docKey',
    () => unwrapDocKeyForOwner(accountKey(), v.bytes('outputs.ownerWrappedDocKey'), docId, userId),
    'inputs.docKey',
  );
  refusesTampering(
    'outputs.ownerWrappedDocKey',
    (e) => unwrapDocKeyForOwner(accountKey(), e, docId, userId),
    'outputs.ownerWrappedDocKey',
  );
  check('outputs.ownerWrappedDocKey refuses another user or document', () => {
    const env = v.bytes('outputs.ownerWrappedDocKey');
    const a = expectCryptoError(() => unwrapDocKeyForOwner(accountKey(), env, docId, OTHER_ID), 'auth');
    const b = expectCryptoError(() => unwrapDocKeyForOwner(accountKey(), env, OTHER_ID, userId), 'auth');
    return a === true ? b : a;
  });

  return report();
}

export function expectCryptoError(fn: () => unknown, code: CryptoError['code']): true | string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CryptoError && e.code === code) return true;
    return `expected CryptoError '${code}', got ${e instanceof CryptoError ? `'${e.code}'` : String(e)}`;
  }
  return `expected CryptoError '${code}', but it opened`;
}

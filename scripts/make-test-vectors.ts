/**
 * Writes docs/test-vectors/keys.json, document.json and sharing.json (crypto.md principle 5).
 *
 * Run: npx tsx scripts/make-test-vectors.ts
 *
 * This script deliberately does NOT use client/crypto: it follows docs/test-vectors/README.md step by step
 * with raw libsodium and @scure/bip39 calls. The checker (client/crypto/vector-check.ts) recomputes every
 * value with the real crypto core. Two independent routes to the same bytes is what makes the vectors mean
 * something; if they disagree, either the core or this description is wrong.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sodium from 'libsodium-wrappers-sumo';
import { entropyToMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';

export const VECTORS_PATH = fileURLToPath(new URL('../docs/test-vectors/keys.json', import.meta.url));
export const DOCUMENT_VECTORS_PATH = fileURLToPath(new URL('../docs/test-vectors/document.json', import.meta.url));
export const SHARING_VECTORS_PATH = fileURLToPath(new URL('../docs/test-vectors/sharing.json', import.meta.url));

/** n bytes start, start+1, ... (mod 256): obviously made up, easy to type into another implementation. */
function seq(start: number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
}

const hex = (b: Uint8Array): string => sodium.to_hex(b);
const b64 = (b: Uint8Array): string => sodium.to_base64(b, sodium.base64_variants.URLSAFE_NO_PADDING);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** 0x01 || nonce || XChaCha20-Poly1305-IETF(key, pt, ad). */
function envelope(key: Uint8Array, pt: Uint8Array, adText: string, nonce: Uint8Array): Uint8Array {
  return cat(Uint8Array.of(1), nonce, sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, utf8(adText), null, nonce, key));
}

/** First `count` 11-bit big-endian groups as BIP39 words, via one big integer (the core uses a bit loop). */
function words11(bytes: Uint8Array, count: number): string[] {
  const n = BigInt('0x' + hex(bytes));
  const totalBits = BigInt(bytes.length * 8);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const shift = totalBits - BigInt(11 * (i + 1));
    out.push(wordlist[Number((n >> shift) & 0x7ffn)] as string);
  }
  return out;
}

export async function buildVectors(): Promise<Record<string, unknown>> {
  await sodium.ready;

  // --- fixed inputs -------------------------------------------------------------------------------------
  // Fullwidth letters, the "fi" ligature, a no-break space, the Angstrom sign, a decomposed e + acute and a
  // circled digit: NFKC rewrites every one of them.
  const password = 'Ｈｅｉｒｌｏｏｍ ﬁle\u00a0\u212bngstr\u00f6m e\u0301te\u0301 \u2460';
  // The same password as most keyboards would type it: already NFKC.
  const passwordAlt = 'Heirloom file \u00c5ngstr\u00f6m \u00e9t\u00e9 1';
  const salt = seq(0x10, 16);
  const kdf = { alg: 'argon2id13', ops: 3, mem: 64 * 1024 * 1024, salt: b64(salt) };
  const userId = '7d0c6f1e-3b2a-4c5d-9e8f-0a1b2c3d4e5f';
  const username = 'Grandma.Rose';
  const serverKey = seq(0x00, 32);
  const accountKey = seq(0x20, 32);
  const recoveryKey = seq(0x80, 32);
  const boxSeed = seq(0xa0, 32);
  const signSeed = seq(0xc0, 32);
  const totpSecret = 'JBSWY3DPEHPK3PXP';
  const nonces = {
    passwordWrap: seq(0x30, 24),
    serverWrap: seq(0x50, 24),
    recoveryWrap: seq(0x70, 24),
    privateKeys: seq(0x90, 24),
    totp: seq(0xb0, 24),
  };

  // --- associated data ----------------------------------------------------------------------------------
  const adText = {
    passwordWrap: `heirloom/v1/account-key/password/${userId}`,
    serverWrap: `heirloom/v1/server-wrap/${userId}`,
    recoveryWrap: `heirloom/v1/account-key/recovery/${userId}`,
    privateKeys: `heirloom/v1/private-keys/${userId}`,
    identity: `heirloom/v1/identity/${userId}`,
    totp: `heirloom/v1/totp/${userId}`,
  };

  // --- derivations --------------------------------------------------------------------------------------
  const passwordNfkc = utf8(password.normalize('NFKC'));
  const masterKey = sodium.crypto_pwhash(32, passwordNfkc, salt, kdf.ops, kdf.mem, sodium.crypto_pwhash_ALG_ARGON2ID13);
  const authKey = sodium.crypto_kdf_derive_from_key(32, 1, 'HLMASTER', masterKey);
  const passwordKek = sodium.crypto_kdf_derive_from_key(32, 2, 'HLMASTER', masterKey);

  const server = {
    authKey: sodium.crypto_kdf_derive_from_key(32, 1, 'HLSERVER', serverKey),
    wrapKey: sodium.crypto_kdf_derive_from_key(32, 2, 'HLSERVER', serverKey),
    fakeSaltKey: sodium.crypto_kdf_derive_from_key(32, 3, 'HLSERVER', serverKey),
    totpKey: sodium.crypto_kdf_derive_from_key(32, 4, 'HLSERVER', serverKey),
    cookieKey: sodium.crypto_kdf_derive_from_key(32, 5, 'HLSERVER', serverKey),
  };
  const authHash = sodium.crypto_generichash(32, authKey, server.authKey);
  const fakeSalt = sodium.crypto_generichash(16, utf8(username.toLowerCase()), server.fakeSaltKey);

  const box = sodium.crypto_box_seed_keypair(boxSeed);
  const signPair = sodium.crypto_sign_seed_keypair(signSeed);

  const recoveryWrapKey = sodium.crypto_kdf_derive_from_key(32, 1, 'HLRECOVR', recoveryKey);
  const recoveryAuthSeed = sodium.crypto_kdf_derive_from_key(32, 2, 'HLRECOVR', recoveryKey);
  const recoveryAuth = sodium.crypto_sign_seed_keypair(recoveryAuthSeed);

  const passwordWrapped = envelope(passwordKek, accountKey, adText.passwordWrap, nonces.passwordWrap);
  const serverWrapped = envelope(server.wrapKey, passwordWrapped, adText.serverWrap, nonces.serverWrap);
  const recoveryWrapped = envelope(recoveryWrapKey, accountKey, adText.recoveryWrap, nonces.recoveryWrap);
  const encPrivateKeys = envelope(accountKey, cat(box.privateKey, signPair.privateKey), adText.privateKeys, nonces.privateKeys);
  const totpEnvelope = envelope(server.totpKey, utf8(totpSecret), adText.totp, nonces.totp);

  const selfSignatureMessage = cat(utf8(adText.identity), box.publicKey, signPair.publicKey, recoveryAuth.publicKey);
  const selfSignature = sodium.crypto_sign_detached(selfSignatureMessage, signPair.privateKey);

  const fingerprint = sodium.crypto_generichash(32, cat(signPair.publicKey, box.publicKey), null);

  return {
    about:
      'Heirloom v1 test vectors; every field is explained in README.md next to this file. Byte strings are ' +
      'lowercase hex, except inside "registration" (URL-safe base64 without padding, as sent to the server), ' +
      'kdf.salt and serverCookieSecret. Regenerate with: npx tsx scripts/make-test-vectors.ts',
    inputs: {
      password,
      passwordUtf8: hex(utf8(password)),
      passwordAlt,
      kdf,
      saltHex: hex(salt),
      userId,
      username,
      serverKey: hex(serverKey),
      accountKey: hex(accountKey),
      recoveryKey: hex(recoveryKey),
      boxSeed: hex(boxSeed),
      signSeed: hex(signSeed),
      totpSecret,
      nonces: Object.fromEntries(Object.entries(nonces).map(([k, v]) => [k, hex(v)])),
    },
    ad: adText,
    outputs: {
      passwordNfkcUtf8: hex(passwordNfkc),
      masterKey: hex(masterKey),
      authKey: hex(authKey),
      passwordKek: hex(passwordKek),
      serverAuthKey: hex(server.authKey),
      serverWrapKey: hex(server.wrapKey),
      serverFakeSaltKey: hex(server.fakeSaltKey),
      serverTotpKey: hex(server.totpKey),
      serverCookieKey: hex(server.cookieKey),
      // The session cookie is signed with this text (the b64 of serverCookieKey), not with the raw bytes.
      serverCookieSecret: b64(server.cookieKey),
      authHash: hex(authHash),
      fakeSalt: hex(fakeSalt),
      boxPk: hex(box.publicKey),
      boxSk: hex(box.privateKey),
      signPk: hex(signPair.publicKey),
      signSk: hex(signPair.privateKey),
      passwordWrappedAccountKey: hex(passwordWrapped),
      serverWrappedAccountKey: hex(serverWrapped),
      recoveryWords: entropyToMnemonic(recoveryKey, wordlist),
      recoveryWrapKey: hex(recoveryWrapKey),
      recoveryAuthSeed: hex(recoveryAuthSeed),
      recoveryAuthPk: hex(recoveryAuth.publicKey),
      recoveryWrappedAccountKey: hex(recoveryWrapped),
      encPrivateKeys: hex(encPrivateKeys),
      selfSignatureMessage: hex(selfSignatureMessage),
      selfSignature: hex(selfSignature),
      fingerprintHex: hex(fingerprint),
      fingerprintWords: words11(fingerprint, 6),
      totpEnvelope: hex(totpEnvelope),
    },
    registration: {
      authKey: b64(authKey),
      passwordWrappedAccountKey: b64(passwordWrapped),
      encPrivateKeys: b64(encPrivateKeys),
      boxPk: b64(box.publicKey),
      signPk: b64(signPair.publicKey),
      recoveryWrappedAccountKey: b64(recoveryWrapped),
      recoveryAuthPk: b64(recoveryAuth.publicKey),
      selfSignature: b64(selfSignature),
    },
  };
}

/**
 * Pretty JSON, pure ASCII: non-ASCII characters are written as \uXXXX escapes so that invisible
 * differences (a decomposed accent, a no-break space) are visible in the file and survive any editor.
 */
export function renderVectors(vectors: Record<string, unknown>): string {
  const json = JSON.stringify(vectors, null, 2).replace(
    /[\u007f-\uffff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
  return json + '\n';
}

// --- documents (document.json) ---------------------------------------------------------------------------

/**
 * crypto_secretstream_xchacha20poly1305 "push", rebuilt from the primitives it is made of so that the
 * 24-byte stream header can be fixed (libsodium's init_push always draws it at random). Mirrors libsodium's
 * secretstream_xchacha20poly1305.c; the checker decrypts the result with libsodium's real secretstream, so a
 * mistake here cannot go unnoticed. Covers what a short vector needs: nothing after a REKEY or FINAL chunk,
 * no counter wrap.
 */
function secretstreamPush(key: Uint8Array, header: Uint8Array) {
  const s = sodium as typeof sodium & {
    // Present in the sumo build, missing from its type definitions.
    crypto_core_hchacha20(input: Uint8Array, key: Uint8Array, constant: Uint8Array | null): Uint8Array;
  };
  const k = s.crypto_core_hchacha20(header.subarray(0, 16), key, null);
  // 12-byte ChaCha20-IETF nonce: 32-bit little-endian counter starting at 1, then header bytes 16..23.
  const nonce = new Uint8Array(12);
  nonce[0] = 1;
  nonce.set(header.subarray(16, 24), 4);
  const le64 = (n: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
    return b;
  };
  // TAG_FINAL (3) includes the REKEY bit (2): libsodium rekeys after it, which matters only if more followed.
  let rekeyed = false;
  return (message: Uint8Array, ad: Uint8Array, tag: number): Uint8Array => {
    if (rekeyed) throw new Error('pushing after a REKEY or FINAL chunk is not implemented here');
    rekeyed = (tag & s.crypto_secretstream_xchacha20poly1305_TAG_REKEY) !== 0;
    const polyKey = s.crypto_stream_chacha20_ietf_xor_ic(new Uint8Array(64), nonce, 0, k).subarray(0, 32);
    const mac = s.crypto_onetimeauth_init(polyKey);
    s.crypto_onetimeauth_update(mac, ad);
    s.crypto_onetimeauth_update(mac, new Uint8Array((0x10 - ad.length) & 0xf));
    const block = new Uint8Array(64);
    block[0] = tag;
    const encBlock = s.crypto_stream_chacha20_ietf_xor_ic(block, nonce, 1, k);
    s.crypto_onetimeauth_update(mac, encBlock);
    const c = s.crypto_stream_chacha20_ietf_xor_ic(message, nonce, 2, k);
    s.crypto_onetimeauth_update(mac, c);
    // Not a multiple-of-16 pad of the ciphertext: libsodium pads (16 - 64 + mlen) & 15 bytes, i.e. mlen % 16.
    s.crypto_onetimeauth_update(mac, new Uint8Array((0x10 - 64 + c.length) & 0xf));
    s.crypto_onetimeauth_update(mac, le64(ad.length));
    s.crypto_onetimeauth_update(mac, le64(64 + c.length));
    const tagMac = s.crypto_onetimeauth_final(mac);
    // Next state: the inner nonce is XORed with the MAC's first 8 bytes, the counter goes up by one.
    for (let i = 0; i < 8; i++) nonce[4 + i] = (nonce[4 + i] ?? 0) ^ (tagMac[i] ?? 0);
    const counter = new DataView(nonce.buffer).getUint32(0, true) + 1;
    if (counter > 0xffffffff) throw new Error('counter wrap is not implemented here');
    new DataView(nonce.buffer).setUint32(0, counter, true);
    return cat(encBlock.subarray(0, 1), c, tagMac);
  };
}

export async function buildDocumentVectors(): Promise<Record<string, unknown>> {
  await sodium.ready;

  // --- fixed inputs -------------------------------------------------------------------------------------
  const docKey = seq(0x60, 32);
  const docId = '5e2f8a14-6c3b-4d7e-9f01-a2b3c4d5e6f7';
  const userId = '7d0c6f1e-3b2a-4c5d-9e8f-0a1b2c3d4e5f'; // the account of keys.json
  const accountKey = seq(0x20, 32); // idem
  const chunkSize = 16; // real documents use 4,194,304; 16 keeps the vector short and still gives 3 chunks
  const plaintext = 'Deed: blue box, top shelf. \u2014 Rose'; // 35 bytes of UTF-8 (the dash is 3): chunks of 16, 16 and 3
  const streamHeader = seq(0xe0, 24);
  const meta = {
    name: 'Where the deed is.txt',
    type: 'text/plain',
    size: utf8(plaintext).length,
    modified: 1700000000000,
    tags: ['house', 'legal'],
    note: 'Caf\u00e9 receipt is in the same box.',
  };
  const nonces = { meta: seq(0x10, 24), ownerWrap: seq(0x40, 24) };

  const adText = {
    chunks: docId, // the chunks' AD is the bare document ID, without the heirloom/v1/ prefix
    meta: `heirloom/v1/doc-meta/${docId}`,
    ownerWrap: `heirloom/v1/doc-key/${docId}/${userId}`,
  };

  // --- the content blob -----------------------------------------------------------------------------------
  const pt = utf8(plaintext);
  const push = secretstreamPush(docKey, streamHeader);
  const chunks: Uint8Array[] = [];
  const count = pt.length === 0 ? 1 : Math.ceil(pt.length / chunkSize);
  for (let i = 0; i < count; i++) {
    const tag =
      i === count - 1 ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    chunks.push(push(pt.subarray(i * chunkSize, (i + 1) * chunkSize), utf8(adText.chunks), tag));
  }
  const head = new Uint8Array(8);
  head.set(utf8('HLB'));
  head[3] = 1;
  new DataView(head.buffer).setUint32(4, chunkSize, false);
  const blobHeader = cat(head, streamHeader);
  const blob = cat(blobHeader, ...chunks);

  // --- metadata and the owner's wrap ------------------------------------------------------------------------
  const metaKey = sodium.crypto_kdf_derive_from_key(32, 1, 'HLDOCKEY', docKey);
  const metaJson = JSON.stringify(meta);
  const metaPadded = sodium.pad(utf8(metaJson), 256);
  const metaEnvelope = envelope(metaKey, metaPadded, adText.meta, nonces.meta);
  const ownerWrappedDocKey = envelope(accountKey, docKey, adText.ownerWrap, nonces.ownerWrap);

  return {
    about:
      'Heirloom v1 test vectors for one document; every field is explained in README.md next to this file. ' +
      'Byte strings are lowercase hex. Regenerate with: npx tsx scripts/make-test-vectors.ts',
    inputs: {
      docKey: hex(docKey),
      docId,
      userId,
      accountKey: hex(accountKey),
      chunkSize,
      plaintext,
      plaintextUtf8: hex(pt),
      secretstreamHeader: hex(streamHeader),
      meta,
      nonces: { meta: hex(nonces.meta), ownerWrap: hex(nonces.ownerWrap) },
    },
    ad: adText,
    outputs: {
      blobHeader: hex(blobHeader),
      chunks: chunks.map(hex),
      blob: hex(blob),
      blobSize: blob.length,
      metaKey: hex(metaKey),
      metaJson,
      metaPadded: hex(metaPadded),
      metaEnvelope: hex(metaEnvelope),
      ownerWrappedDocKey: hex(ownerWrappedDocKey),
    },
  };
}

// --- sharing and spaces (sharing.json) ------------------------------------------------------------------------

/**
 * crypto_box_seal(m, pk), rebuilt from crypto_box_easy so the ephemeral key pair can be fixed (libsodium's
 * crypto_box_seal always makes a random one): ephemeralPk || crypto_box_easy(m, nonce, pk, ephemeralSk) with
 * nonce = crypto_generichash(24, ephemeralPk || pk). The checker opens the result with libsodium's own
 * crypto_box_seal_open, so a mistake here cannot go unnoticed.
 */
function boxSeal(message: Uint8Array, recipientPk: Uint8Array, ephemeralSeed: Uint8Array) {
  const eph = sodium.crypto_box_seed_keypair(ephemeralSeed);
  const nonce = sodium.crypto_generichash(24, cat(eph.publicKey, recipientPk), null);
  const sealed = cat(eph.publicKey, sodium.crypto_box_easy(message, nonce, recipientPk, eph.privateKey));
  return { ephemeralPk: eph.publicKey, nonce, sealed };
}

export async function buildSharingVectors(): Promise<Record<string, unknown>> {
  await sodium.ready;

  // --- fixed inputs -------------------------------------------------------------------------------------
  // The sharer is the account of keys.json; the document is the one of document.json, so the recipient can
  // go on to open that blob with the key the grant carries.
  const sharer = { userId: '7d0c6f1e-3b2a-4c5d-9e8f-0a1b2c3d4e5f', boxSeed: seq(0xa0, 32), signSeed: seq(0xc0, 32) };
  const recipient = {
    userId: '2b9e4d71-8c3f-4a6e-b5d2-7f1a0c9e3b48',
    boxSeed: seq(0x05, 32),
    signSeed: seq(0x25, 32),
    accountKey: seq(0x45, 32),
  };
  const docId = '5e2f8a14-6c3b-4d7e-9f01-a2b3c4d5e6f7';
  const docKey = seq(0x60, 32);
  const spaceId = '9c4e1f7a-2b5d-4e8f-a6c3-1d2e3f4a5b6c';
  const spaceKey = seq(0x88, 32);
  const generation = 2; // a space that has been re-keyed once, so "2" shows in the AD
  const spaceName = 'Taxes \u2014 Caf\u00e9 receipts';
  const ephemeralSeeds = { grant: seq(0x15, 32), spaceKey: seq(0x35, 32) };
  const nonces = { spaceDocKey: seq(0x55, 24), spaceName: seq(0x75, 24), pins: seq(0x95, 24) };
  const verifiedAt = 1700000600000;

  const adText = {
    grant: `heirloom/v1/grant/${docId}/${recipient.userId}`,
    spaceKey: `heirloom/v1/space-key/${spaceId}/${recipient.userId}/${generation}`,
    spaceDocKey: `heirloom/v1/doc-key/${docId}/space/${spaceId}/${generation}`,
    spaceName: `heirloom/v1/space-name/${spaceId}/${generation}`,
    pins: `heirloom/v1/pins/${recipient.userId}`,
  };

  // --- key pairs ----------------------------------------------------------------------------------------
  const sharerBox = sodium.crypto_box_seed_keypair(sharer.boxSeed);
  const sharerSign = sodium.crypto_sign_seed_keypair(sharer.signSeed);
  const recipientBox = sodium.crypto_box_seed_keypair(recipient.boxSeed);
  const recipientSign = sodium.crypto_sign_seed_keypair(recipient.signSeed);
  const fingerprintOf = (signPk: Uint8Array, boxPk: Uint8Array) => sodium.crypto_generichash(32, cat(signPk, boxPk), null);
  const sharerFingerprint = fingerprintOf(sharerSign.publicKey, sharerBox.publicKey);
  const recipientFingerprint = fingerprintOf(recipientSign.publicKey, recipientBox.publicKey);

  // --- the grant: the document key sealed to the recipient, signed by the sharer ----------------------------
  const grant = boxSeal(docKey, recipientBox.publicKey, ephemeralSeeds.grant);
  const grantMessage = cat(utf8(adText.grant), grant.sealed);
  const grantSig = sodium.crypto_sign_detached(grantMessage, sharerSign.privateKey);

  // --- the space key of generation 2, sealed to the recipient as a member, signed by the sharer who added them
  const member = boxSeal(spaceKey, recipientBox.publicKey, ephemeralSeeds.spaceKey);
  const memberMessage = cat(utf8(adText.spaceKey), member.sealed);
  const memberSig = sodium.crypto_sign_detached(memberMessage, sharerSign.privateKey);

  // --- the document key under the space key, and the space's name ------------------------------------------
  const spaceDocKeyWrap = envelope(spaceKey, docKey, adText.spaceDocKey, nonces.spaceDocKey);
  const spaceNamePadded = sodium.pad(utf8(spaceName), 64);
  const spaceNameEnvelope = envelope(spaceKey, spaceNamePadded, adText.spaceName, nonces.spaceName);

  // --- the recipient's pins: the sharer's fingerprint, compared and marked verified; the space's generation -
  const pins = {
    v: 1,
    users: { [sharer.userId]: { fp: hex(sharerFingerprint), verified: true, seen: 1700000000000, verifiedAt } },
    spaces: { [spaceId]: generation },
  };
  const pinsJson = JSON.stringify(pins);
  const pinsEnvelope = envelope(recipient.accountKey, utf8(pinsJson), adText.pins, nonces.pins);

  const sealedParts = (x: ReturnType<typeof boxSeal>, message: Uint8Array, sig: Uint8Array) => ({
    ephemeralPk: hex(x.ephemeralPk),
    nonce: hex(x.nonce),
    sealed: hex(x.sealed),
    message: hex(message),
    sig: hex(sig),
  });

  return {
    about:
      'Heirloom v1 test vectors for sharing a document, a space and pins; every field is explained in README.md ' +
      'next to this file. Byte strings are lowercase hex, except under "api" (URL-safe base64 without ' +
      'padding, as sent to the server). Regenerate with: npx tsx scripts/make-test-vectors.ts',
    inputs: {
      sharer: { userId: sharer.userId, boxSeed: hex(sharer.boxSeed), signSeed: hex(sharer.signSeed) },
      recipient: {
        userId: recipient.userId,
        boxSeed: hex(recipient.boxSeed),
        signSeed: hex(recipient.signSeed),
        accountKey: hex(recipient.accountKey),
      },
      docId,
      docKey: hex(docKey),
      spaceId,
      spaceKey: hex(spaceKey),
      generation,
      spaceName,
      pins,
      ephemeralSeeds: { grant: hex(ephemeralSeeds.grant), spaceKey: hex(ephemeralSeeds.spaceKey) },
      nonces: Object.fromEntries(Object.entries(nonces).map(([k, v]) => [k, hex(v)])),
    },
    ad: adText,
    outputs: {
      sharerBoxPk: hex(sharerBox.publicKey),
      sharerSignPk: hex(sharerSign.publicKey),
      sharerFingerprintHex: hex(sharerFingerprint),
      recipientBoxPk: hex(recipientBox.publicKey),
      recipientBoxSk: hex(recipientBox.privateKey),
      recipientSignPk: hex(recipientSign.publicKey),
      recipientFingerprintHex: hex(recipientFingerprint),
      recipientFingerprintWords: words11(recipientFingerprint, 6),
      grant: sealedParts(grant, grantMessage, grantSig),
      spaceKey: sealedParts(member, memberMessage, memberSig),
      spaceDocKeyWrap: hex(spaceDocKeyWrap),
      spaceNamePadded: hex(spaceNamePadded),
      spaceNameEnvelope: hex(spaceNameEnvelope),
      pinsJson,
      pinsEnvelope: hex(pinsEnvelope),
    },
    api: {
      // one item of POST /api/grants
      grant: { documentId: docId, recipientId: recipient.userId, sealed: b64(grant.sealed), sig: b64(grantSig) },
      // one item of "keys" in POST /api/spaces/:id/members (the signer is the caller)
      spaceKey: { generation, sealed: b64(member.sealed), sig: b64(memberSig) },
      // DocumentView.spaceKeyWrap and the space's name as GET /api/spaces returns them
      spaceKeyWrap: b64(spaceDocKeyWrap),
      spaceName: b64(spaceNameEnvelope),
      // PUT /api/pins
      pins: b64(pinsEnvelope),
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(VECTORS_PATH, renderVectors(await buildVectors()));
  console.log(`wrote ${VECTORS_PATH}`);
  writeFileSync(DOCUMENT_VECTORS_PATH, renderVectors(await buildDocumentVectors()));
  console.log(`wrote ${DOCUMENT_VECTORS_PATH}`);
  writeFileSync(SHARING_VECTORS_PATH, renderVectors(await buildSharingVectors()));
  console.log(`wrote ${SHARING_VECTORS_PATH}`);
}

import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { checkDocumentVectors, checkVectors } from '../../client/crypto/vector-check.js';
import { checkSharingVectors } from '../../client/crypto/vector-check-sharing.js';
import { fromHex, getSodium, ready, toHex } from '../../client/crypto/index.js';
import {
  DOCUMENT_VECTORS_PATH,
  SHARING_VECTORS_PATH,
  VECTORS_PATH,
  buildDocumentVectors,
  buildSharingVectors,
  buildVectors,
  renderVectors,
} from '../../scripts/make-test-vectors.js';

// crypto.md principle 5. The same checks run in Chromium through test/browser/vectors.ts.
describe('test vectors (docs/test-vectors/keys.json)', () => {
  const text = readFileSync(VECTORS_PATH, 'utf8');
  const vectors: unknown = JSON.parse(text);

  it('are recomputed exactly by the crypto core, and every envelope opens', async () => {
    const report = await checkVectors(vectors);
    expect(report.failures).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    // Guards against a checker that silently skips: there are over 60 checks today.
    expect(report.checked).to.be.greaterThan(60);
  });

  it('name the field that no longer matches when one output changes', async () => {
    const changed = JSON.parse(text) as { outputs: { encPrivateKeys: string } };
    const hex = changed.outputs.encPrivateKeys;
    changed.outputs.encPrivateKeys = hex.slice(0, -2) + (hex.endsWith('00') ? '01' : '00');
    const report = await checkVectors(changed);
    expect(report.ok).to.equal(false);
    expect(report.failures.some((f) => f.startsWith('outputs.encPrivateKeys'))).to.equal(true);
  });

  it('report a missing field instead of skipping it', async () => {
    const changed = JSON.parse(text) as { outputs: Record<string, unknown> };
    delete changed.outputs.authHash;
    const report = await checkVectors(changed);
    expect(report.failures.some((f) => f.includes('outputs.authHash'))).to.equal(true);
  });

  it('are exactly what scripts/make-test-vectors.ts writes (regenerate after changing it)', async () => {
    expect(renderVectors(await buildVectors())).to.equal(text);
  });
});

describe('test vectors (docs/test-vectors/document.json)', () => {
  const text = readFileSync(DOCUMENT_VECTORS_PATH, 'utf8');
  const vectors: unknown = JSON.parse(text);

  it('decrypt with the crypto core, refuse every kind of tampering, and match its metadata and key wrap', async () => {
    const report = await checkDocumentVectors(vectors);
    expect(report.failures).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(report.checked).to.be.greaterThan(30);
  });

  it('name the field when the stored blob no longer decrypts', async () => {
    const changed = JSON.parse(text) as { outputs: { blob: string } };
    const hex = changed.outputs.blob;
    changed.outputs.blob = hex.slice(0, -2) + (hex.endsWith('00') ? '01' : '00');
    const report = await checkDocumentVectors(changed);
    expect(report.ok).to.equal(false);
    expect(report.failures.some((f) => f.startsWith('outputs.blob decrypts'))).to.equal(true);
  });

  it('name the field when the metadata envelope changes', async () => {
    const changed = JSON.parse(text) as { inputs: { meta: { name: string } } };
    changed.inputs.meta.name = 'Another name.txt';
    const report = await checkDocumentVectors(changed);
    expect(report.failures.some((f) => f.startsWith('outputs.metaEnvelope:'))).to.equal(true);
  });

  it('are exactly what scripts/make-test-vectors.ts writes (regenerate after changing it)', async () => {
    expect(renderVectors(await buildDocumentVectors())).to.equal(text);
  });
});

describe('test vectors (docs/test-vectors/sharing.json)', () => {
  const text = readFileSync(SHARING_VECTORS_PATH, 'utf8');
  const vectors: unknown = JSON.parse(text);
  type Sharing = {
    inputs: { pins: { users: Record<string, { fp: string }> }; generation: number; recipient: { signSeed: string } };
    outputs: Record<string, string> & { grant: Record<string, string>; spaceKey: Record<string, string> };
  };
  const changed = (edit: (v: Sharing) => void): unknown => {
    const v = JSON.parse(text) as Sharing;
    edit(v);
    return v;
  };
  /** The last byte of a hex string, changed. */
  const flipLast = (hex: string) => hex.slice(0, -2) + (hex.endsWith('00') ? '01' : '00');

  it('open the grant and the space key with the crypto core, check their signatures, and match every envelope', async () => {
    const report = await checkSharingVectors(vectors);
    expect(report.failures).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(report.checked).to.be.greaterThan(60);
  });

  it('name the grant when its signature was made by someone else', async () => {
    // A valid Ed25519 signature over the very same message, made with the recipient's key instead.
    await ready();
    const s = getSodium();
    const report = await checkSharingVectors(
      changed((v) => {
        const other = s.crypto_sign_seed_keypair(fromHex(v.inputs.recipient.signSeed));
        v.outputs.grant.sig = toHex(s.crypto_sign_detached(fromHex(v.outputs.grant.message ?? ''), other.privateKey));
      }),
    );
    expect(report.ok).to.equal(false);
    expect(report.failures.some((f) => f.startsWith('outputs.grant.sig'))).to.equal(true);
    expect(report.failures.some((f) => f.startsWith('outputs.grant opens to inputs.docKey'))).to.equal(true);
  });

  it('name the space key when its sealed box changed', async () => {
    const report = await checkSharingVectors(
      changed((v) => {
        v.outputs.spaceKey.sealed = flipLast(v.outputs.spaceKey.sealed);
      }),
    );
    expect(report.failures.some((f) => f.startsWith('outputs.spaceKey opens to inputs.spaceKey'))).to.equal(true);
  });

  it('name the space key, the wrap, the name and the pinned generation when the generation changes', async () => {
    const report = await checkSharingVectors(
      changed((v) => {
        v.inputs.generation = 3;
      }),
    );
    for (const field of ['ad.spaceKey', 'outputs.spaceKey opens', 'outputs.spaceDocKeyWrap:', 'outputs.spaceNameEnvelope:', 'inputs.pins remembers']) {
      expect(report.failures.some((f) => f.startsWith(field)), field).to.equal(true);
    }
  });

  it('name a pinned fingerprint that is not the key it should belong to', async () => {
    const report = await checkSharingVectors(
      changed((v) => {
        const pin = Object.values(v.inputs.pins.users)[0];
        if (pin) pin.fp = flipLast(pin.fp);
      }),
    );
    expect(report.failures.some((f) => f.startsWith("the sharer's pin holds the sharer's fingerprint"))).to.equal(true);
    expect(report.failures.some((f) => f.startsWith('outputs.pinsEnvelope:'))).to.equal(true);
  });

  it('are exactly what scripts/make-test-vectors.ts writes (regenerate after changing it)', async () => {
    expect(renderVectors(await buildSharingVectors())).to.equal(text);
  });
});

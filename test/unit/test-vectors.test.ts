import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { checkDocumentVectors, checkVectors } from '../../client/crypto/vector-check.js';
import {
  DOCUMENT_VECTORS_PATH,
  VECTORS_PATH,
  buildDocumentVectors,
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

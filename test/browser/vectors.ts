/**
 * esbuild entry for checking the test vectors in a real browser (crypto.md principle 5).
 * Bundle it (format iife or esm, platform browser), load it in a page, then:
 *   await window.heirloomCheckVectors()         // keys.json    → { ok, failures, checked }
 *   await window.heirloomCheckSharingVectors()  // sharing.json → { ok, failures, checked }
 * The checks are the ones the Node test runs: client/crypto/vector-check.ts and vector-check-sharing.ts.
 */
import vectors from '../../docs/test-vectors/keys.json' with { type: 'json' };
import sharingVectors from '../../docs/test-vectors/sharing.json' with { type: 'json' };
import { checkVectors, type VectorReport } from '../../client/crypto/vector-check.js';
import { checkSharingVectors } from '../../client/crypto/vector-check-sharing.js';

declare global {
  interface Window {
    heirloomCheckVectors: () => Promise<VectorReport>;
    heirloomCheckSharingVectors: () => Promise<VectorReport>;
  }
}

window.heirloomCheckVectors = () => checkVectors(vectors);
window.heirloomCheckSharingVectors = () => checkSharingVectors(sharingVectors);

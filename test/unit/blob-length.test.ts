import { expect } from 'chai';
import { plausibleBlobLength } from '../../server/services/uploads.js';
import { blobSize } from '../../client/crypto/document.js';

describe('the server’s check of an uploaded blob’s length', () => {
  it('accepts the exact length of every plaintext size', () => {
    for (const chunk of [16, 1000, 4 * 1024 * 1024]) {
      for (const size of [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 5, 7 * chunk]) {
        expect(plausibleBlobLength(blobSize(size, chunk), chunk), `${size} in chunks of ${chunk}`).to.equal(true);
      }
    }
  });

  it('refuses lengths no blob can have, and absurd chunk sizes', () => {
    expect(plausibleBlobLength(32 + 16, 16)).to.equal(false); // shorter than an empty final chunk
    expect(plausibleBlobLength(32 + 17 + 33 + 17, 16)).to.equal(false); // a last chunk of 0 after a full one
    expect(plausibleBlobLength(32 + 33 + 5, 16)).to.equal(false); // a piece shorter than a chunk's tag
    expect(plausibleBlobLength(blobSize(100, 16), 0)).to.equal(false);
    expect(plausibleBlobLength(blobSize(100, 16), 65 * 1024 * 1024)).to.equal(false);
  });
});

/** The Heirloom crypto core: keys, envelopes and document blobs (docs/format.md, docs/test-vectors/). */
export * from './sodium.js';
export * from './errors.js';
export * from './encoding.js';
export * from './primitives.js';
export * from './password.js';
export * from './recovery.js';
export * from './identity.js';
export * from './account.js';
export * from './fingerprint.js';
export * from './server.js';
export * from './document.js';
export * from './document-batch.js';
export * from './sharing.js';
export * from './pins.js';

/**
 * Benchmark only: the bare libsodium.js secretstream push loop, in a worker like the real pipeline, with no
 * file reading, no transfers and no framing: the ceiling the pipeline is compared against.
 */
import sodium from 'libsodium-wrappers-sumo';

const scope = self as unknown as DedicatedWorkerGlobalScope;
scope.onmessage = async (e: MessageEvent<{ totalMiB: number; chunkMiB: number }>) => {
  await sodium.ready;
  const chunk = new Uint8Array(e.data.chunkMiB * 1024 * 1024).fill(7);
  const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
  const { state } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  const ad = new TextEncoder().encode('00000000-0000-4000-8000-000000000000');
  const n = e.data.totalMiB / e.data.chunkMiB;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const tag = i === n - 1 ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, ad, tag);
  }
  scope.postMessage({ ms: performance.now() - t0 });
};

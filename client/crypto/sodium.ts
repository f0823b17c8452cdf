import sodium from 'libsodium-wrappers-sumo';

/** The libsodium module, typed. Usable only after `ready()` has resolved. */
export type Sodium = typeof sodium;

let readyPromise: Promise<void> | undefined;
let isReady = false;

/** Loads libsodium's WebAssembly once. Every entry point (page, worker, server, CLI, test) awaits this first. */
export async function ready(): Promise<void> {
  readyPromise ??= sodium.ready.then(() => {
    isReady = true;
  });
  await readyPromise;
}

/**
 * The initialised libsodium. The core's functions are synchronous so they can be composed freely; this
 * check turns a forgotten `await ready()` into a clear message instead of "undefined is not a function".
 */
export function getSodium(): Sodium {
  if (!isReady) {
    throw new Error('libsodium is not loaded yet: await ready() from client/crypto/sodium.ts first.');
  }
  return sodium;
}

/**
 * libsodium's WebAssembly module itself, under libsodium.js's wrappers. The document code uses it where the
 * wrappers' per-call allocations and copies cost more than the cryptography (many small envelopes in
 * document-batch.ts, 4 MiB chunks in secretstream.ts). libsodium.js exposes the module as
 * `sodium.libsodium` but does not declare it in its types, so every function is checked before use; when
 * one is missing, callers fall back to the wrappers.
 *
 * Pointers and sizes are 32-bit; a 64-bit number is passed as two halves, low first.
 */
import { getSodium } from './sodium.js';

/** What every caller needs: the heap and its allocator. */
export interface WasmHeap {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
}

/** The module, typed as `T`, if it has every function named in `needed`; otherwise null. */
export function sodiumModule<T extends WasmHeap>(needed: readonly (keyof T & string)[]): T | null {
  const m = (getSodium() as unknown as { libsodium?: Partial<T> }).libsodium;
  if (!m || !(m.HEAPU8 instanceof Uint8Array)) return null;
  if (['_malloc', '_free', ...needed].some((f) => typeof m[f as keyof T] !== 'function')) return null;
  return m as T;
}

import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export class ServerKeyError extends Error {}

/**
 * Loads the 32-byte server key, creating it (mode 0600, folder 0700) on first start. The key is kept out
 * of the database so a leaked database alone gives nothing to guess passwords against (crypto.md).
 * A key file must hold exactly 32 bytes, raw or as 64 hex characters (handy for Docker secrets).
 */
export function loadOrCreateServerKey(file: string): { key: Uint8Array; created: boolean } {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const key = randomBytes(32);
    writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
    return { key: new Uint8Array(key), created: true };
  }
  return { key: readServerKey(file), created: false };
}

/**
 * Reads an existing server key file and never creates one (config check, the rescue tool, restore).
 * Throws ServerKeyError with a sentence when it is missing or not a key.
 */
export function readServerKey(file: string): Uint8Array {
  if (!existsSync(file)) throw new ServerKeyError(`There is no server key file at ${file}.`);
  const st = statSync(file);
  if (!st.isFile()) throw new ServerKeyError(`The server key path ${file} is not a file.`);
  const raw = readFileSync(file);
  if (raw.length === 32) return new Uint8Array(raw);
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  throw new ServerKeyError(
    `The server key file ${file} must hold exactly 32 bytes (or 64 hex characters); it holds ${raw.length} bytes.`,
  );
}

/** Tightens the permissions of a key file we created but that something loosened (best effort). */
export function ensurePrivate(file: string): void {
  try {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch {
    // read-only mounts (Docker secrets) cannot be changed, and need not be
  }
}

/**
 * Creates the data folder and its blobs/ and uploads/ folders for the server's user only (0700). A data
 * folder that already exists and lets group or others in (made by hand, or by an older Heirloom) is
 * tightened to 0700: the database holds auth hashes and wrapped keys, and nobody else on the machine needs
 * them. What cannot be tightened (a folder owned by another user) is returned, for the caller to warn about.
 */
export function ensureDataDirs(dataDir: string): string[] {
  const loose: string[] = [];
  for (const sub of ['', 'blobs', 'uploads']) {
    const dir = path.join(dataDir, sub);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if ((statSync(dir).mode & 0o077) === 0) continue;
    try {
      chmodSync(dir, 0o700);
    } catch {
      loose.push(dir);
    }
  }
  return loose;
}

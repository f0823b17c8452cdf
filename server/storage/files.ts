import { createHash } from 'node:crypto';
import { constants, createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Plain file operations for backups, restores, verify and config checks. Every path the services touch on
 * disk goes through here (architecture.md: no fs outside storage/), so a later object store has one seam.
 */

export class MissingFile extends Error {
  constructor(readonly file: string) {
    super(`${file} does not exist`);
  }
}

/** Copy or hash failed its own check: the bytes written are not the bytes read. */
export class CopyMismatch extends Error {}

export interface FileDigest {
  size: number;
  sha256: string;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

/** SHA-256 and length of a file, streamed (a blob may be gigabytes). */
export async function hashFile(file: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (err) {
    if (isMissing(err)) throw new MissingFile(file);
    throw err;
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * Copies `from` to `to` durably: hashes the bytes as they are read, writes them to a temporary name, fsyncs,
 * reads the copy back and compares its hash, then renames it into place. Throws MissingFile when `from` is
 * gone (a blob deleted meanwhile) and CopyMismatch when the copy does not read back the same.
 */
export async function copyVerified(from: string, to: string, mode = 0o600): Promise<FileDigest> {
  await fs.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
  const tmp = `${to}.partial`;
  const hash = createHash('sha256');
  let size = 0;
  const out = await fs.open(tmp, 'w', mode);
  try {
    try {
      for await (const chunk of createReadStream(from, { highWaterMark: 1024 * 1024 })) {
        const buf = chunk as Buffer;
        hash.update(buf);
        size += buf.length;
        await out.write(buf);
      }
    } catch (err) {
      if (isMissing(err)) throw new MissingFile(from);
      throw err;
    }
    await out.sync();
  } catch (err) {
    await out.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await out.close();
  const digest = { size, sha256: hash.digest('hex') };
  const back = await hashFile(tmp);
  if (back.sha256 !== digest.sha256 || back.size !== digest.size) {
    await fs.rm(tmp, { force: true });
    throw new CopyMismatch(`The copy of ${from} does not read back the same.`);
  }
  await fs.rename(tmp, to);
  return digest;
}

/** Writes a small file durably (temp, fsync, rename). */
export async function writeFileDurable(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.partial`;
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

export async function readText(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) throw new MissingFile(file);
    throw err;
  }
}

export async function readBytes(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if (isMissing(err)) throw new MissingFile(file);
    throw err;
  }
}

export async function makeDir(dir: string, mode = 0o700): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode });
}

export async function removeTree(p: string): Promise<void> {
  await fs.rm(p, { recursive: true, force: true });
}

export async function removeFile(p: string): Promise<void> {
  await fs.rm(p, { force: true });
}

/** Renames and makes the rename itself durable (fsync of the folder that now holds it). */
export async function renameDurable(from: string, to: string): Promise<void> {
  await fs.rename(from, to);
  await syncDir(path.dirname(to));
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Names in a folder; empty when the folder does not exist. */
export async function entries(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

/** Every file under a folder, as paths relative to it with `/` separators. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const ent of await fs.readdir(path.join(dir, rel), { withFileTypes: true }).catch((err) => {
      if (isMissing(err)) return [];
      throw err;
    })) {
      const child = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) await walk(child);
      else out.push(child);
    }
  };
  await walk('');
  return out.sort();
}

export interface PathInfo {
  exists: boolean;
  isFile: boolean;
  isDir: boolean;
  size: number;
  /** permission bits (mode & 0o777) */
  mode: number;
  mtimeMs: number;
  writable: boolean;
  readable: boolean;
}

export async function pathInfo(p: string): Promise<PathInfo> {
  try {
    const st = await fs.stat(p);
    const can = async (flag: number) =>
      fs.access(p, flag).then(
        () => true,
        () => false,
      );
    return {
      exists: true,
      isFile: st.isFile(),
      isDir: st.isDirectory(),
      size: st.size,
      mode: st.mode & 0o777,
      mtimeMs: st.mtimeMs,
      writable: await can(constants.W_OK),
      readable: await can(constants.R_OK),
    };
  } catch (err) {
    if (!isMissing(err)) throw err;
    return { exists: false, isFile: false, isDir: false, size: 0, mode: 0, mtimeMs: 0, writable: false, readable: false };
  }
}

/** Size of a file in bytes, or null when it does not exist. */
export async function fileSize(p: string): Promise<number | null> {
  const info = await pathInfo(p);
  return info.exists ? info.size : null;
}

/** Two files hold the same bytes (both must exist). */
export async function sameContent(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([readBytes(a), readBytes(b)]);
  return x.equals(y);
}

import { createReadStream, promises as fs, type ReadStream } from 'node:fs';
import path from 'node:path';

import { isUuid } from '../../client/crypto/document.js';

export class BadBlobId extends Error {}

/**
 * Encrypted document blobs on local disk: `blobs/<first two hex>/<docId>`. Paths are made here from
 * validated IDs only. Blobs appear atomically (fsync, rename, fsync the folder), so a crash leaves either
 * the whole blob or nothing under its final name (architecture.md "Data folder").
 */
export class BlobStore {
  readonly blobsDir: string;
  readonly uploadsDir: string;

  constructor(dataDir: string) {
    this.blobsDir = path.join(dataDir, 'blobs');
    this.uploadsDir = path.join(dataDir, 'uploads');
  }

  pathOf(id: string): string {
    // a lowercase canonical UUID is the only shape a document ID may have before it touches a path
    if (!isUuid(id)) throw new BadBlobId('not a document ID');
    return path.join(this.blobsDir, id.slice(0, 2), id);
  }

  /** Where tus keeps an upload in flight (named by the future document's ID). */
  uploadPathOf(id: string): string {
    if (!isUuid(id)) throw new BadBlobId('not a document ID');
    return path.join(this.uploadsDir, id);
  }

  /** An empty upload file for tus to write into, without tus's description file; returns its path. */
  async createUpload(id: string): Promise<string> {
    const file = this.uploadPathOf(id);
    await fs.writeFile(file, '', { mode: 0o600 });
    return file;
  }

  /**
   * Moves a finished upload to its final place, durably: its bytes are synced, then the folder that now
   * names it. The folder it came from is not synced: if a power cut brought the old name back, it would be
   * a file in uploads/ without a reservation, which the start-up sweep removes (docs/performance.md).
   */
  async commit(id: string, from: string): Promise<void> {
    const target = this.pathOf(id);
    const handle = await fs.open(from, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const dir = path.dirname(target);
    try {
      await fs.rename(from, target);
    } catch (err) {
      // the first blob of its two-hex folder: make the folder (once per folder, not once per blob), and
      // make the folder itself durable, or a power cut could take the blob with it
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await syncDir(this.blobsDir);
      await fs.rename(from, target);
    }
    await syncDir(dir);
  }

  async size(id: string): Promise<number | null> {
    try {
      return (await fs.stat(this.pathOf(id))).size;
    } catch {
      return null;
    }
  }

  /** Size and first 8 bytes (magic, version, chunk size) of a finished upload, to check it is a blob. */
  async inspectUpload(id: string): Promise<{ size: number; head: Buffer }> {
    const handle = await fs.open(this.uploadPathOf(id), 'r');
    try {
      const head = Buffer.alloc(8);
      await handle.read(head, 0, 8, 0);
      return { size: (await handle.stat()).size, head };
    } finally {
      await handle.close();
    }
  }

  read(id: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.pathOf(id), range);
  }

  async remove(id: string): Promise<void> {
    await fs.rm(this.pathOf(id), { force: true });
  }

  /** Every blob ID on disk (for the orphan sweep and verify). */
  async list(): Promise<string[]> {
    const ids: string[] = [];
    let shards: string[];
    try {
      shards = await fs.readdir(this.blobsDir);
    } catch {
      return ids;
    }
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await fs.readdir(path.join(this.blobsDir, shard))) {
        if (isUuid(name) && name.startsWith(shard)) ids.push(name);
      }
    }
    return ids;
  }

  /** Files in the uploads folder (tus data files and their .json descriptions). */
  async listUploads(): Promise<string[]> {
    try {
      return await fs.readdir(this.uploadsDir);
    } catch {
      return [];
    }
  }

  uploadsPath(name: string): string {
    return path.join(this.uploadsDir, path.basename(name));
  }

  /** Last change of a file in ms, or 0 when it is gone. */
  async mtime(file: string): Promise<number> {
    try {
      return (await fs.stat(file)).mtimeMs;
    } catch {
      return 0;
    }
  }

  async removeUpload(name: string): Promise<void> {
    await fs.rm(path.join(this.uploadsDir, path.basename(name)), { force: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

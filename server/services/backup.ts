import path from 'node:path';
import { z } from 'zod';
import { MIGRATIONS_DIR, openDb, type Db } from '../db/connection.js';
import { documents, uploads } from '../db/documents.js';
import { maintenance } from '../db/maintenance.js';
import { Conflict, NotFound, Validation } from '../errors.js';
import type { BlobStore } from '../storage/blobs.js';
import {
  copyVerified,
  entries,
  hashFile,
  makeDir,
  MissingFile,
  pathInfo,
  readText,
  removeTree,
  renameDurable,
  sameContent,
  syncDir,
  writeFileDurable,
  type FileDigest,
} from '../storage/files.js';

/**
 * Backups of a running instance and restores into an empty data folder (flows.md "Admin CLI",
 * docs/backup-restore.md). A backup folder has the layout of a data folder (heirloom.sqlite, blobs/, and
 * secrets/server.key only when asked for), plus manifest.json with the SHA-256 of every file, so the rescue
 * tool and the server itself can use a backup as it is.
 */

export const BACKUP_FORMAT = 'heirloom-backup';
export const BACKUP_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const DB_FILE = 'heirloom.sqlite';
export const SERVER_KEY_PATH = 'secrets/server.key';

/** The only paths a manifest may name: nothing can make restore write outside the data folder. */
const FILE_PATH = /^(heirloom\.sqlite|secrets\/server\.key|blobs\/[0-9a-f]{2}\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.number().int(),
  createdAt: z.string(),
  app: z.object({ name: z.string(), version: z.string() }),
  migrations: z.array(z.string()),
  rowCounts: z.record(z.string(), z.number().int()),
  files: z.array(z.object({ path: z.string().regex(FILE_PATH), size: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  serverKeyIncluded: z.boolean(),
  missingAtBackup: z.array(z.object({ documentId: z.string(), path: z.string() })),
  wrongSizeAtBackup: z.array(z.object({ documentId: z.string(), path: z.string(), expected: z.number(), actual: z.number() })),
  deletedDuringBackup: z.array(z.string()),
  uploadsLeftOut: z.number().int(),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type ManifestFile = BackupManifest['files'][number];

export type BackupProgress =
  | { step: 'database'; file: string }
  | { step: 'blobs'; total: number }
  | { step: 'blob'; done: number; total: number };

export interface BackupResult {
  dir: string;
  manifest: BackupManifest;
  bytes: number;
}

/** `heirloom-backup-20261126T101500Z`: sorts by time, no characters a file system dislikes. */
export function backupName(now: Date): string {
  return `heirloom-backup-${now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')}`;
}

const blobPath = (id: string) => `blobs/${id.slice(0, 2)}/${id}`;

export class BackupService {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly opts: { serverKeyFile: string; appVersion: string },
  ) {}

  /**
   * Takes a backup while the server runs. The database first, as one consistent snapshot (VACUUM INTO on a
   * connection to the live database), then the blobs its rows name: a blob uploaded meanwhile has no row in
   * the snapshot and is not needed; a blob deleted meanwhile is noted, not fatal. Orphan blobs are left out.
   * The folder appears under its final name only when everything in it is written and checked.
   */
  async create(opts: {
    outDir: string;
    includeServerKey?: boolean;
    now?: Date;
    onProgress?: (p: BackupProgress) => void | Promise<void>;
  }): Promise<BackupResult> {
    const outDir = path.resolve(opts.outDir);
    const now = opts.now ?? new Date();
    try {
      await makeDir(outDir);
      await syncDir(outDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new Validation(`Heirloom cannot make or write the folder ${outDir} (${code}). Give a folder it may write to with --out.`, 'backup_out_not_writable');
    }
    let name = backupName(now);
    for (let n = 2; (await pathInfo(path.join(outDir, name))).exists; n++) name = `${backupName(now)}-${n}`;
    const finalDir = path.join(outDir, name);
    const tmp = path.join(outDir, `.${name}.partial`);
    await removeTree(tmp);
    await makeDir(tmp);
    try {
      const manifest = await this.fill(tmp, now, opts);
      await writeFileDurable(path.join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      await syncDir(tmp);
      await renameDurable(tmp, finalDir);
      return { dir: finalDir, manifest, bytes: manifest.files.reduce((n, f) => n + f.size, 0) };
    } catch (err) {
      await removeTree(tmp);
      throw err;
    }
  }

  private async fill(
    tmp: string,
    now: Date,
    opts: { includeServerKey?: boolean; onProgress?: (p: BackupProgress) => void | Promise<void> },
  ): Promise<BackupManifest> {
    const dbCopy = path.join(tmp, DB_FILE);
    await maintenance.vacuumInto(this.db, dbCopy);
    await opts.onProgress?.({ step: 'database', file: dbCopy });

    const copy = openDb(dbCopy);
    const blobDigests = new Map<string, FileDigest>();
    const missingAtBackup: BackupManifest['missingAtBackup'] = [];
    const wrongSizeAtBackup: BackupManifest['wrongSizeAtBackup'] = [];
    const deletedDuringBackup: string[] = [];
    let uploadsLeftOut = 0;
    let rowCounts: Record<string, number> = {};
    let migrations: string[] = [];
    try {
      // uploads in flight are not part of a backup: their bytes are not copied, so their rows go too
      uploadsLeftOut = (await uploads.totals(copy)).count;
      await uploads.removeAll(copy);

      const rows = await documents.sizes(copy);
      await opts.onProgress?.({ step: 'blobs', total: rows.length });
      let done = 0;
      for (const row of rows) {
        const rel = blobPath(row.id);
        try {
          const digest = await copyVerified(this.blobs.pathOf(row.id), path.join(tmp, rel));
          blobDigests.set(rel, digest);
          if (digest.size !== row.size) {
            wrongSizeAtBackup.push({ documentId: row.id, path: rel, expected: row.size, actual: digest.size });
          }
        } catch (err) {
          if (!(err instanceof MissingFile)) throw err;
          if (await documents.byId(this.db, row.id)) {
            // the live database still has the row: the blob was already missing, which verify reports
            missingAtBackup.push({ documentId: row.id, path: rel });
          } else {
            // deleted for good after the snapshot (row first, then blob): it is not part of this backup
            deletedDuringBackup.push(row.id);
            await documents.remove(copy, row.id);
          }
        }
        await opts.onProgress?.({ step: 'blob', done: ++done, total: rows.length });
      }
      for (const table of await maintenance.tableNames(copy)) rowCounts[table] = await maintenance.rowCount(copy, table);
      migrations = await maintenance.completedMigrations(copy);
      await maintenance.useRollbackJournal(copy);
    } finally {
      await copy.destroy();
    }
    rowCounts = Object.fromEntries(Object.entries(rowCounts).sort(([a], [b]) => a.localeCompare(b)));

    const files: ManifestFile[] = [{ path: DB_FILE, ...(await hashFile(dbCopy)) }];
    for (const [rel, d] of [...blobDigests].sort(([a], [b]) => a.localeCompare(b))) files.push({ path: rel, ...d });
    for (const shard of await entries(path.join(tmp, 'blobs'))) await syncDir(path.join(tmp, 'blobs', shard));
    if (opts.includeServerKey) {
      const key = await copyVerified(this.opts.serverKeyFile, path.join(tmp, SERVER_KEY_PATH), 0o600).catch((err) => {
        if (err instanceof MissingFile) throw new NotFound(`There is no server key at ${this.opts.serverKeyFile} to include.`);
        throw err;
      });
      files.push({ path: SERVER_KEY_PATH, ...key });
    }
    return {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: now.toISOString(),
      app: { name: 'heirloom', version: this.opts.appVersion },
      migrations,
      rowCounts,
      files,
      serverKeyIncluded: Boolean(opts.includeServerKey),
      missingAtBackup,
      wrongSizeAtBackup,
      deletedDuringBackup,
      uploadsLeftOut,
    };
  }
}

/** Reads and checks the shape of a backup's manifest (not yet the files). */
export async function readManifest(dir: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readText(path.join(dir, MANIFEST_FILE));
  } catch (err) {
    if (err instanceof MissingFile) {
      throw new Validation(`${dir} is not a Heirloom backup: it has no ${MANIFEST_FILE}.`, 'not_a_backup');
    }
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Validation(`The backup is damaged: ${MANIFEST_FILE} in ${dir} is not valid JSON.`, 'backup_damaged');
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > BACKUP_VERSION) {
    throw new Validation(`This backup has format version ${version}; this Heirloom reads version ${BACKUP_VERSION}. Use a newer Heirloom.`, 'backup_version');
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success || parsed.data.version !== BACKUP_VERSION) {
    throw new Validation(`The backup is damaged: ${MANIFEST_FILE} in ${dir} is not a Heirloom backup manifest.`, 'backup_damaged');
  }
  return parsed.data;
}

/** Checks every file of a backup against its manifest (size, then SHA-256); names the first bad one. */
export async function checkBackup(dir: string): Promise<BackupManifest> {
  const manifest = await readManifest(dir);
  if (!manifest.files.some((f) => f.path === DB_FILE)) {
    throw new Validation(`The backup is damaged: its manifest does not list ${DB_FILE}.`, 'backup_damaged');
  }
  for (const f of manifest.files) {
    const file = path.join(dir, f.path);
    const info = await pathInfo(file);
    if (!info.isFile) throw new Validation(`The backup is damaged: ${f.path} is missing.`, 'backup_damaged');
    if (info.size !== f.size) {
      throw new Validation(`The backup is damaged: ${f.path} is ${info.size} bytes, the manifest says ${f.size}.`, 'backup_damaged');
    }
    if ((await hashFile(file)).sha256 !== f.sha256) {
      throw new Validation(`The backup is damaged: ${f.path} does not match its SHA-256 in the manifest.`, 'backup_damaged');
    }
  }
  return manifest;
}

export interface RestoreResult {
  dataDir: string;
  manifest: BackupManifest;
  documents: number;
  bytes: number;
  /** restored: copied from the backup; kept: one was already in place (the same); missing: none anywhere */
  serverKey: 'restored' | 'kept' | 'missing';
  serverKeyFile: string;
}

/** What may already be in a data folder that counts as empty: a file system's own folder, the key put back. */
async function leftovers(dataDir: string): Promise<string[]> {
  const names: string[] = [];
  for (const name of await entries(dataDir)) {
    if (name === 'lost+found') continue;
    if (name === 'secrets' && (await entries(path.join(dataDir, 'secrets'))).every((n) => n === 'server.key')) continue;
    names.push(name);
  }
  return names;
}

const migrationName = (file: string) => file.replace(/\.(ts|js|mjs|cjs)$/, '');

/**
 * Restores a backup into an empty data folder: checks every file against the manifest first (and refuses a
 * damaged backup, naming the file), then copies blobs, the server key if the backup has one, and the
 * database last, so a folder with heirloom.sqlite in it is a complete restore.
 */
export async function restoreBackup(opts: { from: string; dataDir: string; serverKeyFile: string }): Promise<RestoreResult> {
  const from = path.resolve(opts.from);
  const dataDir = path.resolve(opts.dataDir);
  if (from === dataDir) throw new Validation('Restore into another folder than the backup itself.');
  const info = await pathInfo(dataDir);
  if (info.exists && !info.isDir) throw new Validation(`${dataDir} is a file, not a folder.`);
  const inTheWay = await leftovers(dataDir);
  if (inTheWay.length > 0) {
    const shown = inTheWay.slice(0, 3).join(', ') + (inTheWay.length > 3 ? ', …' : '');
    throw new Conflict(
      `The data folder ${dataDir} is not empty (it holds ${shown}). Restore only into an empty folder: stop Heirloom, move the old folder aside, and run restore again.`,
      'data_dir_not_empty',
    );
  }
  const manifest = await checkBackup(from);

  const known = new Set((await entries(MIGRATIONS_DIR)).map(migrationName));
  const unknown = manifest.migrations.map(migrationName).filter((m) => !known.has(m));
  if (unknown.length > 0) {
    throw new Validation(
      `This backup was made by a newer Heirloom (its database has the migration ${unknown[0]}, which this version does not know). Install that version or a newer one, then restore.`,
      'backup_too_new',
    );
  }

  const hasKey = manifest.files.some((f) => f.path === SERVER_KEY_PATH);
  const keyInPlace = (await pathInfo(opts.serverKeyFile)).exists;
  let serverKey: RestoreResult['serverKey'] = keyInPlace ? 'kept' : 'missing';
  if (hasKey && keyInPlace && !(await sameContent(path.join(from, SERVER_KEY_PATH), opts.serverKeyFile))) {
    throw new Conflict(
      `A different server key is already at ${opts.serverKeyFile}. Move it aside if the one in the backup is the right one, then restore again.`,
      'server_key_differs',
    );
  }

  await makeDir(dataDir);
  await makeDir(path.join(dataDir, 'uploads'));
  await makeDir(path.join(dataDir, 'blobs'));
  const expect = async (f: ManifestFile, to: string, mode?: number) => {
    const d = await copyVerified(path.join(from, f.path), to, mode);
    if (d.sha256 !== f.sha256) throw new Validation(`The backup changed while it was restored: ${f.path}. Run restore again.`, 'backup_damaged');
  };
  let documents = 0;
  for (const f of manifest.files.filter((x) => x.path.startsWith('blobs/'))) {
    await expect(f, path.join(dataDir, f.path));
    documents++;
  }
  for (const shard of await entries(path.join(dataDir, 'blobs'))) await syncDir(path.join(dataDir, 'blobs', shard));
  if (hasKey && !keyInPlace) {
    const f = manifest.files.find((x) => x.path === SERVER_KEY_PATH) as ManifestFile;
    await expect(f, opts.serverKeyFile, 0o600);
    serverKey = 'restored';
  }
  await expect(manifest.files.find((x) => x.path === DB_FILE) as ManifestFile, path.join(dataDir, DB_FILE));
  await syncDir(dataDir);
  return {
    dataDir,
    manifest,
    documents: manifest.rowCounts.documents ?? documents,
    bytes: manifest.files.reduce((n, f) => n + f.size, 0),
    serverKey,
    serverKeyFile: opts.serverKeyFile,
  };
}

import path from 'node:path';
import type { Db } from '../db/connection.js';
import { documents, uploads } from '../db/documents.js';
import { maintenance } from '../db/maintenance.js';
import type { BlobStore } from '../storage/blobs.js';
import { hashFile, MissingFile, pathInfo } from '../storage/files.js';
import { DB_FILE, SERVER_KEY_PATH, type BackupManifest } from './backup.js';
import { STALE_UPLOAD_MS, type UploadService } from './uploads.js';

/**
 * `heirloom-admin verify`: rows against blobs (present, right size, and the right SHA-256 when a backup
 * manifest is at hand), files nobody owns, uploads left behind, and SQLite's own checks. `--repair` removes
 * only what is provably garbage (orphan blobs, abandoned uploads), never a document row.
 */

export type ProblemKind =
  | 'database_integrity'
  | 'foreign_key'
  | 'blob_missing'
  | 'blob_wrong_size'
  | 'blob_changed'
  | 'backup_file_missing'
  | 'backup_file_changed'
  | 'orphan_blob'
  | 'stale_upload'
  | 'stray_upload';

export interface Problem {
  kind: ProblemKind;
  message: string;
  documentId?: string;
  /** relative to the data folder */
  path?: string;
  advice?: string;
  /** set by --repair for the kinds it may fix */
  repaired?: boolean;
}

export interface VerifyReport {
  ok: boolean;
  checked: { documents: number; blobs: number; hashed: number; uploads: number; manifest: boolean };
  problems: Problem[];
  repaired: { staleUploads: number; strayFiles: number; orphanBlobs: number } | null;
}

/** Files changed this recently may belong to an upload finishing right now; --repair leaves them alone. */
export const REPAIR_GRACE_MS = 10 * 60_000;

const RESTORE_ADVICE = (rel: string) =>
  `Restore ${rel} from a backup: copy that one file from the newest backup folder that has it to the same place in the data folder, then run verify again. If no backup has it, this document is lost and its owner can delete it.`;

export class VerifyService {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly dataDir: string,
    /** the upload sweep; absent when the folder is opened read-only (a backup) */
    private readonly sweeper?: Pick<UploadService, 'sweep'>,
  ) {}

  private rel(file: string): string {
    return path.relative(this.dataDir, file).split(path.sep).join('/');
  }

  async run(
    opts: {
      repair?: boolean;
      /** a backup manifest to compare blob hashes with */
      manifest?: BackupManifest;
      /** the manifest belongs to the folder being checked (it is a backup): check the database and key too */
      ownManifest?: boolean;
      now?: number;
      graceMs?: number;
    } = {},
  ): Promise<VerifyReport> {
    const now = opts.now ?? Date.now();
    const grace = opts.graceMs ?? REPAIR_GRACE_MS;
    const problems: Problem[] = [];

    const integrity = await maintenance.integrityCheck(this.db);
    if (!(integrity.length === 1 && integrity[0] === 'ok')) {
      for (const line of integrity.slice(0, 20)) {
        problems.push({
          kind: 'database_integrity',
          message: `SQLite integrity check: ${line}`,
          advice: 'The database file is damaged. Stop Heirloom and restore the newest backup (docs/backup-restore.md).',
        });
      }
    }
    for (const fk of (await maintenance.foreignKeyCheck(this.db)).slice(0, 20)) {
      problems.push({
        kind: 'foreign_key',
        message: `A row of ${fk.table} (rowid ${fk.rowid ?? '?'}) points at a missing row of ${fk.parent}.`,
        advice: 'Restore the newest backup, or report this as a bug.',
      });
    }

    const manifestFiles = new Map((opts.manifest?.files ?? []).map((f) => [f.path, f]));
    const rows = await documents.sizes(this.db);
    let hashed = 0;
    for (const row of rows) {
      const file = this.blobs.pathOf(row.id);
      const rel = this.rel(file);
      const size = await this.blobs.size(row.id);
      if (size === null) {
        problems.push({ kind: 'blob_missing', documentId: row.id, path: rel, message: `Document ${row.id} has no encrypted file (${rel}).`, advice: RESTORE_ADVICE(rel) });
        continue;
      }
      if (size !== row.size) {
        problems.push({
          kind: 'blob_wrong_size',
          documentId: row.id,
          path: rel,
          message: `The encrypted file of document ${row.id} (${rel}) is ${size} bytes; its row says ${row.size}. It was cut short or changed.`,
          advice: RESTORE_ADVICE(rel),
        });
        continue;
      }
      const expected = manifestFiles.get(rel);
      if (expected) {
        hashed++;
        if ((await hashFile(file)).sha256 !== expected.sha256) {
          problems.push({
            kind: 'blob_changed',
            documentId: row.id,
            path: rel,
            message: `The encrypted file of document ${row.id} (${rel}) no longer matches its SHA-256 in the backup manifest.`,
            advice: RESTORE_ADVICE(rel),
          });
        }
      }
    }

    if (opts.manifest && opts.ownManifest) {
      for (const f of opts.manifest.files.filter((x) => x.path === DB_FILE || x.path === SERVER_KEY_PATH)) {
        const file = path.join(this.dataDir, f.path);
        try {
          const digest = await hashFile(file);
          hashed++;
          if (digest.sha256 !== f.sha256) {
            problems.push({ kind: 'backup_file_changed', path: f.path, message: `${f.path} no longer matches its SHA-256 in the manifest.`, advice: 'This backup is damaged; use another one.' });
          }
        } catch (err) {
          if (!(err instanceof MissingFile)) throw err;
          problems.push({ kind: 'backup_file_missing', path: f.path, message: `${f.path} is listed in the manifest but missing.`, advice: 'This backup is damaged; use another one.' });
        }
      }
    }

    const known = new Set(rows.map((r) => r.id));
    const onDisk = await this.blobs.list();
    for (const id of onDisk) {
      if (known.has(id)) continue;
      const file = this.blobs.pathOf(id);
      const recent = now - (await pathInfo(file)).mtimeMs <= grace;
      problems.push({
        kind: 'orphan_blob',
        documentId: id,
        path: this.rel(file),
        message: `${this.rel(file)} belongs to no document${recent ? ' (changed in the last minutes: it may be an upload finishing right now)' : ''}.`,
        advice: 'It is left over from an interrupted upload or deletion. verify --repair removes it.',
      });
    }

    const live = await uploads.all(this.db);
    for (const row of live) {
      if (Number(row.created_at) < now - STALE_UPLOAD_MS) {
        problems.push({
          kind: 'stale_upload',
          documentId: row.id,
          message: `The upload of document ${row.id} was abandoned more than a day ago; it still holds ${row.length} bytes of its owner's quota.`,
          advice: 'verify --repair (or the server, hourly) drops it.',
        });
      }
    }
    const liveIds = new Set(live.map((r) => r.id));
    for (const name of await this.blobs.listUploads()) {
      if (liveIds.has(name.replace(/\.json$/, ''))) continue;
      const file = this.blobs.uploadsPath(name);
      problems.push({
        kind: 'stray_upload',
        path: this.rel(file),
        message: `${this.rel(file)} belongs to no upload in progress.`,
        advice: 'verify --repair removes it.',
      });
    }

    let repaired: VerifyReport['repaired'] = null;
    if (opts.repair) {
      if (!this.sweeper) throw new Error('This folder was opened read-only; it cannot be repaired.');
      repaired = await this.sweeper.sweep({ now, graceMs: grace });
      for (const p of problems) {
        if (p.kind === 'orphan_blob' || p.kind === 'stray_upload') {
          p.repaired = !(await pathInfo(path.join(this.dataDir, p.path as string))).exists;
        } else if (p.kind === 'stale_upload') {
          p.repaired = !(await uploads.byId(this.db, p.documentId as string));
        }
      }
    }

    return {
      ok: problems.every((p) => p.repaired),
      checked: { documents: rows.length, blobs: onDisk.length, hashed, uploads: live.length, manifest: Boolean(opts.manifest) },
      problems,
      repaired,
    };
  }
}

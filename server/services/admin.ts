import type { Db } from '../db/connection.js';
import { documents, uploads } from '../db/documents.js';
import { maintenance } from '../db/maintenance.js';
import { sessions } from '../db/sessions.js';
import { users, type UserRow } from '../db/users.js';
import { NotFound, Validation } from '../errors.js';
import type { BlobStore } from '../storage/blobs.js';
import type { AuditService, Origin } from './audit.js';
import type { DocumentService, Usage } from './documents.js';
import { normaliseUsername } from './registration.js';

/** Admin actions have no browser behind them; the security log shows them without an address. */
const ADMIN: Origin = { ip: null, userAgent: null };

/** An account as `heirloom-admin user list` shows it. */
export interface AdminUserView {
  id: string;
  username: string;
  isAdmin: boolean;
  disabled: boolean;
  disabledAt: string | null;
  /** false after `user reset-mfa`, until the person sets up their authenticator again */
  twoStep: boolean;
  createdAt: string;
  /** encrypted bytes stored (trash included) and reserved by uploads in flight */
  used: number;
  quota: number;
  customQuota: boolean;
  documents: number;
}

export interface Stats {
  users: { total: number; admins: number; disabled: number };
  documents: { count: number; inTrash: number; bytes: number };
  uploads: { inFlight: number; reservedBytes: number };
  database: { bytes: number };
}

export interface DeletedUser {
  username: string;
  documents: number;
  bytes: number;
}

const UNITS: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };

/** "20GiB", "500 MiB", "1.5 TB" → bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = (m?.[2] || 'b').toLowerCase();
  if (!m || !(unit in UNITS)) {
    throw new Validation(`“${text}” is not a size. Write a number with a unit, for example 500MiB or 20GiB.`);
  }
  return Math.floor(Number(m[1]) * (UNITS[unit] as number));
}

/** What the admin CLI does to accounts. It can never touch a key or read a document. */
export class AdminService {
  constructor(
    private readonly db: Db,
    private readonly documents: DocumentService,
    private readonly blobs: BlobStore,
    private readonly audit: AuditService,
  ) {}

  private async user(username: string): Promise<UserRow> {
    const row = await users.byUsername(this.db, normaliseUsername(username));
    if (!row) throw new NotFound(`There is no account named “${username}”. See the names with: heirloom-admin user list`, 'user_not_found');
    return row;
  }

  private async userId(username: string): Promise<string> {
    return (await this.user(username)).id;
  }

  async listUsers(): Promise<AdminUserView[]> {
    const [rows, stored, reserved] = await Promise.all([users.list(this.db), documents.usageByOwner(this.db), uploads.reservedByOwner(this.db)]);
    const storedBy = new Map(stored.map((r) => [r.ownerId, r]));
    const reservedBy = new Map(reserved.map((r) => [r.ownerId, r.bytes]));
    const views: AdminUserView[] = [];
    for (const r of rows) {
      const custom = r.quota_bytes !== null && r.quota_bytes !== undefined;
      views.push({
        id: r.id,
        username: r.username,
        isAdmin: Boolean(r.is_admin),
        disabled: r.disabled_at !== null && r.disabled_at !== undefined,
        disabledAt: r.disabled_at ? new Date(Number(r.disabled_at)).toISOString() : null,
        twoStep: Boolean(r.totp_secret),
        createdAt: new Date(Number(r.created_at)).toISOString(),
        used: (storedBy.get(r.id)?.bytes ?? 0) + (reservedBy.get(r.id) ?? 0),
        quota: await this.documents.quotaOf(r.id),
        customQuota: custom,
        documents: storedBy.get(r.id)?.documents ?? 0,
      });
    }
    return views;
  }

  /**
   * A disabled account cannot log in (the password step refuses it) and its sessions end at once: the rows
   * go, and a session still in a browser finds no user behind it (passport's deserializeUser).
   */
  async disable(username: string): Promise<{ username: string; alreadyDisabled: boolean; sessionsEnded: number }> {
    const row = await this.user(username);
    const already = Boolean(row.disabled_at);
    let ended = 0;
    await this.db.transaction(async (trx) => {
      if (!already) await users.setDisabled(trx, row.id, Date.now());
      ended = await sessions.destroyForUser(trx, row.id);
    });
    if (!already) await this.audit.record('account_disabled', row.id, ADMIN);
    return { username: row.username, alreadyDisabled: already, sessionsEnded: ended };
  }

  async enable(username: string): Promise<{ username: string; wasDisabled: boolean }> {
    const row = await this.user(username);
    if (!row.disabled_at) return { username: row.username, wasDisabled: false };
    await users.setDisabled(this.db, row.id, null);
    await this.audit.record('account_enabled', row.id, ADMIN);
    return { username: row.username, wasDisabled: true };
  }

  /**
   * Deletes an account for good: the row first (documents, sessions, uploads and the security log go with
   * it), then the blobs and upload files. A crash in between leaves only orphan files, which the start-up
   * sweep and `verify --repair` remove. Nobody can bring these documents back except from a backup.
   */
  async deleteUser(username: string): Promise<DeletedUser> {
    const row = await this.user(username);
    const docIds = await documents.idsOfOwner(this.db, row.id);
    const uploadIds = await uploads.idsOfOwner(this.db, row.id);
    const bytes = await documents.usedBytes(this.db, row.id);
    await users.remove(this.db, row.id);
    for (const id of docIds) await this.blobs.remove(id);
    for (const id of uploadIds) {
      await this.blobs.removeUpload(id);
      await this.blobs.removeUpload(`${id}.json`);
    }
    return { username: row.username, documents: docIds.length, bytes };
  }

  /**
   * Clears the authenticator secret; nothing else (no key is touched, none could be). The person sees
   * 'mfa_reset' in their security log and sets up a new authenticator at their next login, after the
   * password step. Their sessions end too: a reset usually means a lost phone, maybe in someone's hands.
   */
  async resetMfa(username: string): Promise<{ username: string; sessionsEnded: number }> {
    const row = await this.user(username);
    let ended = 0;
    await this.db.transaction(async (trx) => {
      await users.clearTotp(trx, row.id);
      ended = await sessions.destroyForUser(trx, row.id);
    });
    await this.audit.record('mfa_reset', row.id, ADMIN);
    return { username: row.username, sessionsEnded: ended };
  }

  async stats(): Promise<Stats> {
    const rows = await users.list(this.db);
    const docs = await documents.totals(this.db);
    const ups = await uploads.totals(this.db);
    return {
      users: { total: rows.length, admins: rows.filter((r) => r.is_admin).length, disabled: rows.filter((r) => r.disabled_at).length },
      documents: { count: docs.count, inTrash: docs.trashed, bytes: docs.bytes },
      uploads: { inFlight: ups.count, reservedBytes: ups.bytes },
      database: { bytes: await maintenance.sizeBytes(this.db) },
    };
  }

  async usage(username: string): Promise<Usage & { custom: boolean }> {
    const id = await this.userId(username);
    const row = await users.byId(this.db, id);
    return { ...(await this.documents.usage(id)), custom: row?.quota_bytes !== null && row?.quota_bytes !== undefined };
  }

  /** Sets a person's quota in bytes, or back to the instance's default with null. */
  async setQuota(username: string, bytes: number | null): Promise<Usage & { custom: boolean }> {
    if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes < 0)) throw new Validation('A quota must be a size of 0 or more.');
    await users.setQuota(this.db, await this.userId(username), bytes);
    return this.usage(username);
  }
}

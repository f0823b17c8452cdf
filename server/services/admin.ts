import type { Db } from '../db/connection.js';
import { users } from '../db/users.js';
import { NotFound, Validation } from '../errors.js';
import type { DocumentService, Usage } from './documents.js';
import { normaliseUsername } from './registration.js';

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
  ) {}

  private async userId(username: string): Promise<string> {
    const row = await users.byUsername(this.db, normaliseUsername(username));
    if (!row) throw new NotFound(`There is no account named “${username}”.`);
    return row.id;
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

import { migrationConfig, type Db } from '../db/connection.js';
import { Validation } from '../errors.js';

export interface MigrationStatus {
  done: string[];
  pending: string[];
}

const nameOf = (m: unknown): string => {
  if (typeof m === 'string') return m;
  const o = m as { name?: string; file?: string };
  return String(o.name ?? o.file ?? '?');
};

/**
 * `heirloom-admin migrate latest | rollback | status`. The server runs `latest` at every start; these are for
 * upgrades done by hand and for undoing the last one (architecture.md: every migration has a working down).
 */
export class MigrationService {
  constructor(private readonly db: Db) {}

  async status(): Promise<MigrationStatus> {
    let listed: [unknown[], unknown[]];
    try {
      listed = (await this.db.migrate.list(migrationConfig)) as [unknown[], unknown[]];
    } catch (err) {
      throw new Validation(
        `The database has migrations this version of Heirloom does not know (${(err as Error).message}). It was used by a newer Heirloom: install that version again.`,
        'unknown_migrations',
      );
    }
    return { done: listed[0].map(nameOf), pending: listed[1].map(nameOf) };
  }

  /** Runs every pending migration as one batch; returns their names (empty when up to date). */
  async latest(): Promise<{ batch: number; applied: string[] }> {
    await this.status();
    const [batch, log] = (await this.db.migrate.latest(migrationConfig)) as [number, string[]];
    return { batch, applied: log };
  }

  /** Undoes the last batch; tables it created are dropped with their contents. */
  async rollback(): Promise<{ batch: number; undone: string[] }> {
    await this.status();
    const [batch, log] = (await this.db.migrate.rollback(migrationConfig)) as [number, string[]];
    return { batch, undone: log };
  }
}

import type { Db } from './connection.js';

/**
 * Whole-database operations for backup and verify. SQLite-specific SQL lives here and nowhere else
 * (architecture.md "Growing past one machine").
 */

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

export const maintenance = {
  /**
   * A consistent copy of the live database into a new file, taken inside one read transaction of this
   * connection: with WAL, the server keeps writing meanwhile and the copy is the state at one instant.
   */
  vacuumInto: async (db: Db, file: string): Promise<void> => {
    await db.raw('VACUUM INTO ?', [file]);
  },

  /** Rollback journal instead of WAL: a single self-contained file, readable from read-only media. */
  useRollbackJournal: async (db: Db): Promise<void> => {
    await db.raw('PRAGMA journal_mode = DELETE');
  },

  /** "ok", or SQLite's description of each problem. */
  integrityCheck: async (db: Db): Promise<string[]> =>
    ((await db.raw('PRAGMA integrity_check')) as { integrity_check: string }[]).map((r) => r.integrity_check),

  /** Rows whose foreign key points at nothing. */
  foreignKeyCheck: async (db: Db): Promise<{ table: string; rowid: number | null; parent: string }[]> =>
    ((await db.raw('PRAGMA foreign_key_check')) as { table: string; rowid: number | null; parent: string }[]).map((r) => ({
      table: r.table,
      rowid: r.rowid,
      parent: r.parent,
    })),

  /** Every table of ours (SQLite's own excluded), so backups count tables that a later migration adds. */
  tableNames: async (db: Db): Promise<string[]> =>
    (
      (await db('sqlite_master').where({ type: 'table' }).andWhereNot('name', 'like', 'sqlite_%').select('name').orderBy('name')) as {
        name: string;
      }[]
    ).map((r) => r.name),

  rowCount: async (db: Db, table: string): Promise<number> =>
    Number(((await db.raw(`SELECT count(*) AS n FROM ${quoteIdent(table)}`)) as { n: number }[])[0]?.n ?? 0),

  /** Bytes the database file takes (pages × page size), without the WAL. */
  sizeBytes: async (db: Db): Promise<number> => {
    const count = ((await db.raw('PRAGMA page_count')) as { page_count: number }[])[0]?.page_count ?? 0;
    const size = ((await db.raw('PRAGMA page_size')) as { page_size: number }[])[0]?.page_size ?? 0;
    return Number(count) * Number(size);
  },

  /** Names of the migrations this database has run, oldest first (empty before the first start). */
  completedMigrations: async (db: Db): Promise<string[]> => {
    if (!(await db.schema.hasTable('knex_migrations'))) return [];
    return ((await db('knex_migrations').select('name').orderBy('id')) as { name: string }[]).map((r) => r.name);
  },
};

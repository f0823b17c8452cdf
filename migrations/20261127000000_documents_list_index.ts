import type { Knex } from 'knex';

// The documents page reads a person's documents outside (or in) the trash, newest first, and their usage.
// With created_at in the index SQLite walks the rows already in that order instead of sorting 10,000 rows
// of envelopes on every load; with size in it, the bytes used are summed from the index alone instead of
// from every row. It starts with the old index's columns, so the old one goes.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('documents', (t) => {
    t.index(['owner_id', 'deleted_at', 'created_at', 'size'], 'documents_list_index');
  });
  await knex.schema.alterTable('documents', (t) => {
    t.dropIndex(['owner_id', 'deleted_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('documents', (t) => {
    t.index(['owner_id', 'deleted_at']);
  });
  await knex.schema.alterTable('documents', (t) => {
    t.dropIndex(['owner_id', 'deleted_at', 'created_at', 'size'], 'documents_list_index');
  });
}

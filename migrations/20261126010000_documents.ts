import type { Knex } from 'knex';

// The encrypted document vault (crypto.md "Documents"): one row per document, its blob on disk.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('documents', (t) => {
    t.string('id', 36).primary(); // made by the client, checked for format and uniqueness
    t.string('owner_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('size').notNullable(); // bytes of the encrypted blob, which is what counts against a quota
    t.text('meta').notNullable(); // AEAD envelope of the padded metadata JSON (name, type, size, tags…)
    t.text('key_wrap').notNullable(); // the document key wrapped with the owner's account key
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('deleted_at').nullable(); // in the trash since
    t.index(['owner_id', 'deleted_at']);
  });
  // uploads in flight: what they will take of the quota, and who may continue them
  await knex.schema.createTable('uploads', (t) => {
    t.string('id', 36).primary(); // the future document's ID
    t.string('owner_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('length').notNullable();
    t.text('meta').notNullable();
    t.text('key_wrap').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['owner_id']);
  });
  await knex.schema.alterTable('users', (t) => {
    t.bigInteger('quota_bytes').nullable(); // null: the instance's default
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('quota_bytes');
  });
  await knex.schema.dropTable('uploads');
  await knex.schema.dropTable('documents');
}

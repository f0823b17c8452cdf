import type { Knex } from 'knex';

// Times are integer milliseconds since the epoch (UTC), which PostgreSQL and SQLite store alike.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.string('id', 36).primary();
    t.string('username', 32).notNullable().unique();
    t.boolean('is_admin').notNullable().defaultTo(false);
    t.bigInteger('disabled_at').nullable();
    t.string('kdf_alg', 16).notNullable();
    t.integer('kdf_ops').notNullable();
    t.integer('kdf_mem').notNullable();
    t.string('kdf_salt', 32).notNullable();
    t.string('auth_hash', 64).notNullable();
    t.text('account_key_wrapped').notNullable();
    t.text('enc_private_keys').notNullable();
    t.string('box_pk', 64).notNullable();
    t.string('sign_pk', 64).notNullable();
    t.text('recovery_wrapped_account_key').notNullable();
    t.string('recovery_auth_pk', 64).notNullable();
    t.string('self_signature', 128).notNullable();
    t.text('totp_secret').nullable();
    t.bigInteger('totp_last_step').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('password_changed_at').notNullable();
  });

  await knex.schema.createTable('invitations', (t) => {
    t.string('id', 36).primary();
    t.string('token_hash', 64).notNullable().unique();
    t.boolean('is_admin').notNullable().defaultTo(false);
    t.string('user_id', 36).notNullable().unique();
    t.integer('kdf_ops').notNullable();
    t.integer('kdf_mem').notNullable();
    t.string('kdf_salt', 32).notNullable();
    t.text('totp_secret').nullable();
    t.string('created_by', 36).nullable().references('id').inTable('users').onDelete('SET NULL');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('used_at').nullable();
  });

  await knex.schema.createTable('sessions', (t) => {
    t.string('sid', 128).primary();
    t.string('user_id', 36).nullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('data').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_seen_at').notNullable();
    t.string('ip', 64).nullable();
    t.string('user_agent', 256).nullable();
    t.index(['user_id']);
    t.index(['expires_at']);
  });

  await knex.schema.createTable('audit_events', (t) => {
    t.increments('id');
    t.string('user_id', 36).nullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('event', 40).notNullable();
    t.string('ip', 64).nullable();
    t.string('user_agent', 256).nullable();
    t.text('detail').nullable();
    t.bigInteger('created_at').notNullable();
    t.index(['user_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_events');
  await knex.schema.dropTable('sessions');
  await knex.schema.dropTable('invitations');
  await knex.schema.dropTable('users');
}

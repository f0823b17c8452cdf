import type { Knex } from 'knex';

// crypto.md "Fingerprints": each person's pins (the fingerprints they have seen and verified, and the highest
// generation of each space key they have seen), one encrypted envelope per person that only their own
// browser can open. `version` goes up by one on every save, so two tabs saving at once cannot overwrite each
// other's pins unnoticed: a save names the version it read and is refused when that is no longer current.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pins', (t) => {
    t.string('user_id', 36).primary().references('id').inTable('users').onDelete('CASCADE');
    t.text('envelope').notNullable();
    t.integer('version').notNullable();
    t.bigInteger('updated_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('pins');
}

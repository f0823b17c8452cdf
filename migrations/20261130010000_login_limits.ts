import type { Knex } from 'knex';

// Login limits live in the database, not in memory, so a restart does not hand out a fresh set of attempts
// (security.md "Login limits"). Each row is one counter; `key` is a keyed hash of what it counts (an account
// name and an address, a session, ...), never the typed name itself, because people type passwords into the
// username field. Times are integer milliseconds since the epoch, like everywhere else.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('login_limits', (t) => {
    t.string('key', 64).primary();
    t.integer('count').notNullable().defaultTo(0);
    // the counter starts again from zero after this time
    t.bigInteger('reset_at').notNullable();
    // no attempt is checked before this time (the growing back-off of an account past its cap)
    t.bigInteger('blocked_until').notNullable().defaultTo(0);
    t.index(['reset_at']);
  });
  // Failed logins for names nobody has used to keep the typed name in the security log (sometimes a
  // password typed into the wrong field). Without the server key a keyed hash cannot be made here, so the
  // old text goes; the event itself (time, address) stays.
  await knex('audit_events').where({ event: 'login_failed' }).whereNull('user_id').update({ detail: null });
}

export async function down(knex: Knex): Promise<void> {
  // The removed names are not brought back: that was the point.
  await knex.schema.dropTable('login_limits');
}

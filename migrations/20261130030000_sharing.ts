import type { Knex } from 'knex';

// Sharing (crypto.md "Sharing and spaces"): grants of one document to one person, spaces (shared folders)
// with their members and each member's sealed copy of every generation of the space key, and the three
// fields that put a document in a space. The server stores only sealed keys, signatures and envelopes.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('grants', (t) => {
    t.string('document_id', 36).notNullable().references('id').inTable('documents').onDelete('CASCADE');
    t.string('recipient_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('sharer_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('sealed').notNullable(); // crypto_box_seal(docKey, recipientBoxPk), b64
    t.text('sig').notNullable(); // the sharer's signature over AD("grant",docId,recipientId) || sealed, b64
    t.bigInteger('created_at').notNullable();
    // once the recipient's browser has checked and opened the grant: the document key wrapped under the
    // recipient's own account key, AEAD(accountKey, docKey, AD("doc-key",docId,recipientId)), b64; null before
    t.text('recipient_wrap').nullable();
    t.primary(['document_id', 'recipient_id']);
    // "shared with me" in the documents list
    t.index(['recipient_id']);
  });
  await knex.schema.createTable('spaces', (t) => {
    t.string('id', 36).primary(); // made by the client: the ID is in the signed and encrypted bytes
    t.text('name').notNullable(); // AEAD envelope of the padded name under the space key, b64
    t.integer('name_generation').notNullable(); // the generation of the key that sealed the name
    t.integer('generation').notNullable(); // the current generation of the space key
    t.string('created_by', 36).nullable().references('id').inTable('users').onDelete('SET NULL');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('space_members', (t) => {
    t.string('space_id', 36).notNullable().references('id').inTable('spaces').onDelete('CASCADE');
    t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('role', 16).notNullable(); // 'manager' | 'member'
    t.string('added_by', 36).nullable(); // kept as it was, even once that person's account is gone
    t.bigInteger('added_at').notNullable();
    t.primary(['space_id', 'user_id']);
    t.index(['user_id']);
  });
  await knex.schema.createTable('space_keys', (t) => {
    t.string('space_id', 36).notNullable().references('id').inTable('spaces').onDelete('CASCADE');
    t.string('member_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.integer('generation').notNullable();
    t.text('sealed').notNullable(); // crypto_box_seal(spaceKey_g, memberBoxPk), b64
    t.text('sig').notNullable(); // the signer's signature over AD("space-key",spaceId,memberId,g) || sealed
    t.string('signer_id', 36).notNullable(); // who sealed it: the member's client checks sig with their key
    t.bigInteger('created_at').notNullable();
    t.primary(['space_id', 'member_id', 'generation']);
  });
  await knex.schema.alterTable('documents', (t) => {
    t.string('space_id', 36).nullable().references('id').inTable('spaces').onDelete('SET NULL');
    t.integer('space_generation').nullable();
    t.text('space_key_wrap').nullable(); // AEAD(spaceKey_g, docKey, AD("doc-key",docId,"space",spaceId,g))
    // the documents list reads every space's documents outside the trash, newest first
    t.index(['space_id', 'deleted_at', 'created_at'], 'documents_space_index');
  });
  // An upload into a space carries the same three fields until its document row is written.
  await knex.schema.alterTable('uploads', (t) => {
    t.string('space_id', 36).nullable();
    t.integer('space_generation').nullable();
    t.text('space_key_wrap').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('uploads', (t) => {
    t.dropColumn('space_key_wrap');
    t.dropColumn('space_generation');
    t.dropColumn('space_id');
  });
  await knex.schema.dropTable('grants');
  await knex.schema.alterTable('documents', (t) => {
    t.dropIndex(['space_id', 'deleted_at', 'created_at'], 'documents_space_index');
  });
  await knex.schema.alterTable('documents', (t) => {
    t.dropForeign(['space_id']);
  });
  await knex.schema.alterTable('documents', (t) => {
    t.dropColumn('space_key_wrap');
    t.dropColumn('space_generation');
    t.dropColumn('space_id');
  });
  await knex.schema.dropTable('space_keys');
  await knex.schema.dropTable('space_members');
  await knex.schema.dropTable('spaces');
}

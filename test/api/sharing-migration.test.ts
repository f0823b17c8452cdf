import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { filler, makeDocument } from '../helpers/documents.js';
import { addMember, createSpace, moveIntoSpace, person, shareDocument, tusCreate } from '../helpers/sharing.js';
import { migrationConfig } from '../../server/db/connection.js';
import { ready } from '../../client/crypto/index.js';

const SHARING = '20261130030000_sharing.ts';

describe('the sharing migration', function () {
  this.timeout(120_000);
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer();
  });
  after(() => t.close());

  it('undoes itself keeping every document and account, and applies again on top', async () => {
    const alice = await person(t.app, t.services, 'alice');
    const bob = await person(t.app, t.services, 'bob');
    const doc = makeDocument(alice.keys, alice.userId, filler(300, 1), 'deed.pdf');
    expect((await tusCreate(alice.client, doc)).status).to.equal(201);
    const spaceId = await createSpace(alice, 'Family');
    await addMember(alice, spaceId, bob);
    expect((await moveIntoSpace(alice, doc.id, spaceId)).status).to.equal(200);
    await shareDocument(alice, doc.id, bob);
    const before = await t.db('documents').where({ id: doc.id }).first();

    await t.db.migrate.down({ ...migrationConfig, name: SHARING });
    for (const table of ['grants', 'spaces', 'space_members', 'space_keys']) expect(await t.db.schema.hasTable(table), table).to.equal(false);
    expect(await t.db.schema.hasColumn('documents', 'space_id')).to.equal(false);
    expect(await t.db.schema.hasColumn('uploads', 'space_id')).to.equal(false);
    const { space_id: _a, space_generation: _b, space_key_wrap: _c, ...unshared } = before;
    expect(await t.db('documents').where({ id: doc.id }).first()).to.deep.equal(unshared);
    expect(await t.db('users').count({ n: '*' }).first()).to.deep.equal({ n: 2 });
    // the list index survived the rebuild of the table
    expect((await t.db.raw("select name from sqlite_master where type = 'index' and name = 'documents_list_index'")).length).to.equal(1);

    await t.db.migrate.latest(migrationConfig);
    expect(await t.db('documents').where({ id: doc.id }).first()).to.deep.equal({ ...unshared, space_id: null, space_generation: null, space_key_wrap: null });
    expect(await t.db('grants').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    const list = await alice.client.get('/api/documents');
    expect(list.body.documents.map((d: { id: string }) => d.id)).to.deep.equal([doc.id]);
  });
});

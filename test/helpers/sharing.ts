/**
 * Sharing through the real API with the real crypto core, as a browser would do it: grants, spaces, uploads
 * into a space. For API tests, and for browser tests that need a document shared or a space made before the
 * page under test opens. Everyone is a `Person`: a logged-in TestClient and their unlocked keys.
 */
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import {
  fromB64,
  newSpaceKey,
  openSpaceKey,
  openSpaceName,
  sealGrant,
  sealSpaceKey,
  sealSpaceName,
  toB64,
  unwrapDocKeyForOwner,
  wrapDocKeyForSpace,
  type UnlockedKeys,
} from '../../client/crypto/index.js';
import { newMember, type TestClient } from './client.js';
import { makeDocument, tusMetadata, type TestDocument } from './documents.js';
import type { SpaceView } from '../../server/services/spaces.js';

export interface Person {
  client: TestClient;
  keys: UnlockedKeys;
  userId: string;
  username: string;
}

/** Someone whose public keys are wanted: a Person, or just an ID (looked up in GET /api/directory). */
export type Someone = Person | { userId: string };

/** Public keys of people this process has met, by user ID. */
const known = new Map<string, { boxPk: Uint8Array; signPk: Uint8Array }>();

function remember(p: Person): Person {
  known.set(p.userId, { boxPk: p.keys.boxPk, signPk: p.keys.signPk });
  return p;
}

/** A new member of the instance, registered through an invitation and logged in. */
export async function person(
  app: Express | string,
  services: { registration: { createInvitation(o: { isAdmin: boolean }): Promise<{ token: string }> } },
  username: string,
): Promise<Person> {
  const m = await newMember(app, services, username);
  return remember({ client: m.client, keys: m.account.keys, userId: m.client.userId, username });
}

/** Someone already logged in elsewhere (e.g. a browser test's user, logged in again through the API). */
export function asPerson(client: TestClient, keys: UnlockedKeys, username: string): Person {
  return remember({ client, keys, userId: client.userId, username });
}

/** Public keys of someone, as `asker` can learn them: from this process, else the family directory. */
export async function publicKeys(asker: Person, who: Someone): Promise<{ boxPk: Uint8Array; signPk: Uint8Array }> {
  if ('keys' in who) return { boxPk: who.keys.boxPk, signPk: who.keys.signPk };
  const mine = known.get(who.userId);
  if (mine) return mine;
  const res = await asker.client.get('/api/directory');
  const entry = (res.body.users as { id: string; boxPk: string; signPk: string }[] | undefined)?.find((u) => u.id === who.userId);
  if (!entry) throw new Error(`no public keys for ${who.userId} (directory: ${res.status})`);
  const keys = { boxPk: fromB64(entry.boxPk), signPk: fromB64(entry.signPk) };
  known.set(who.userId, keys);
  return keys;
}

/** The document key of one of the owner's documents, from its keyWrap as the server holds it. */
export async function ownDocKey(owner: Person, docId: string): Promise<Uint8Array> {
  const res = await owner.client.get(`/api/documents/${docId}`);
  if (res.status !== 200 || typeof res.body.document?.keyWrap !== 'string') throw new Error(`document ${docId}: ${res.status}`);
  return unwrapDocKeyForOwner(owner.keys.accountKey, fromB64(res.body.document.keyWrap), docId, owner.userId);
}

/** A grant of one document to one person, sealed and signed by the owner (the body item of POST /api/grants). */
export async function grantFor(owner: Person, docId: string, recipient: Someone, docKey?: Uint8Array) {
  const key = docKey ?? (await ownDocKey(owner, docId));
  const { boxPk } = await publicKeys(owner, recipient);
  const g = sealGrant(key, docId, recipient.userId, boxPk, owner.keys.signSk);
  return { documentId: docId, recipientId: recipient.userId, sealed: toB64(g.sealed), sig: toB64(g.sig) };
}

/** Shares documents with people in one request; returns the response. */
export async function shareDocuments(owner: Person, docIds: string[], recipients: Someone[]) {
  const grants = [];
  for (const id of docIds) {
    const key = await ownDocKey(owner, id);
    for (const r of recipients) grants.push(await grantFor(owner, id, r, key));
  }
  return owner.client.post('/api/grants', { grants });
}

/** Shares one document with one person; throws unless the server took it. */
export async function shareDocument(owner: Person, docId: string, recipient: Someone): Promise<void> {
  const res = await shareDocuments(owner, [docId], [recipient]);
  if (res.status !== 200) throw new Error(`share: ${res.status} ${JSON.stringify(res.body)}`);
}

export function revoke(owner: Person, docId: string, recipientId: string) {
  return owner.client.agent.delete(`/api/documents/${docId}/grants/${recipientId}`).set('X-CSRF-Token', owner.client.csrf).set('Accept', 'application/json');
}

// Spaces -----------------------------------------------------------------------------------------------------

type SpaceViewBody = SpaceView;

/** A member's view of a space (GET /api/spaces/:id), or throws. */
export async function spaceView(member: Person, spaceId: string): Promise<SpaceViewBody> {
  const res = await member.client.get(`/api/spaces/${spaceId}`);
  if (res.status !== 200) throw new Error(`space ${spaceId}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.space as SpaceViewBody;
}

/** Every generation of a space's key the member holds, opened after checking each signature: index g - 1. */
export async function spaceKeys(member: Person, spaceId: string): Promise<Uint8Array[]> {
  const space = await spaceView(member, spaceId);
  const out: Uint8Array[] = [];
  for (const k of space.keys) {
    const { signPk } = await publicKeys(member, { userId: k.signerId });
    out[k.generation - 1] = openSpaceKey(
      { sealed: fromB64(k.sealed), sig: fromB64(k.sig) },
      spaceId,
      member.userId,
      k.generation,
      signPk,
      member.keys.boxPk,
      member.keys.boxSk,
    );
  }
  return out;
}

/** The body of POST /api/spaces for a new space (exported so tests can spoil one field). */
export function newSpaceBody(owner: Person, name: string, id = randomUUID(), key = newSpaceKey()) {
  const k = sealSpaceKey(key, id, owner.userId, 1, owner.keys.boxPk, owner.keys.signSk);
  return { id, key, body: { id, name: toB64(sealSpaceName(key, id, 1, name)), keys: [{ generation: 1, sealed: toB64(k.sealed), sig: toB64(k.sig) }] } };
}

/** Makes a space with the owner as its manager; returns its ID. */
export async function createSpace(owner: Person, name: string): Promise<string> {
  const { id, body } = newSpaceBody(owner, name);
  const res = await owner.client.post('/api/spaces', body);
  if (res.status !== 201) throw new Error(`create space: ${res.status} ${JSON.stringify(res.body)}`);
  return id;
}

/** The body of POST /api/spaces/:id/members: every generation sealed to the new member by the manager. */
export async function addMemberBody(manager: Person, spaceId: string, member: Someone, role?: 'member' | 'manager') {
  const keys = await spaceKeys(manager, spaceId);
  const { boxPk } = await publicKeys(manager, member);
  return {
    userId: member.userId,
    ...(role ? { role } : {}),
    keys: keys.map((key, i) => {
      const s = sealSpaceKey(key, spaceId, member.userId, i + 1, boxPk, manager.keys.signSk);
      return { generation: i + 1, sealed: toB64(s.sealed), sig: toB64(s.sig) };
    }),
  };
}

export async function addMember(manager: Person, spaceId: string, member: Someone, role?: 'member' | 'manager'): Promise<void> {
  const res = await manager.client.post(`/api/spaces/${spaceId}/members`, await addMemberBody(manager, spaceId, member, role));
  if (res.status !== 200) throw new Error(`add member: ${res.status} ${JSON.stringify(res.body)}`);
}

/** The body of POST /api/spaces/:id/members/:userId/remove: a new generation for everyone else, the name sealed again. */
export async function removeMemberBody(manager: Person, spaceId: string, memberId: string) {
  const space = await spaceView(manager, spaceId);
  const keys = await spaceKeys(manager, spaceId);
  const oldKey = keys[space.nameGeneration - 1];
  if (!oldKey) throw new Error('the manager cannot open the key of the space’s name');
  const name = openSpaceName(oldKey, spaceId, space.nameGeneration, fromB64(space.name));
  const g = space.generation + 1;
  const key = newSpaceKey();
  const sealed = [];
  for (const m of space.members.filter((x) => x.userId !== memberId)) {
    const { boxPk } = await publicKeys(manager, { userId: m.userId });
    const s = sealSpaceKey(key, spaceId, m.userId, g, boxPk, manager.keys.signSk);
    sealed.push({ memberId: m.userId, sealed: toB64(s.sealed), sig: toB64(s.sig) });
  }
  return { generation: g, name: toB64(sealSpaceName(key, spaceId, g, name)), keys: sealed };
}

export async function removeMember(manager: Person, spaceId: string, memberId: string): Promise<void> {
  const res = await manager.client.post(`/api/spaces/${spaceId}/members/${memberId}/remove`, await removeMemberBody(manager, spaceId, memberId));
  if (res.status !== 200) throw new Error(`remove member: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A document made by `member` for a space: its own wrap plus the wrap under the space's current key. */
export async function makeSpaceDocument(member: Person, spaceId: string, plaintext: Uint8Array, name = 'taxes-2026.pdf') {
  const space = await spaceView(member, spaceId);
  const key = (await spaceKeys(member, spaceId))[space.generation - 1];
  if (!key) throw new Error('the member holds no key of the current generation');
  const doc = makeDocument(member.keys, member.userId, plaintext, name);
  const spaceKeyWrap = toB64(wrapDocKeyForSpace(key, doc.docKey, doc.id, spaceId, space.generation));
  return { doc, spaceId, generation: space.generation, spaceKeyWrap };
}

/** Uploads a whole document into a space in one tus request; returns the response (201 when it worked). */
export async function uploadIntoSpace(member: Person, spaceId: string, plaintext: Uint8Array, name?: string) {
  const made = await makeSpaceDocument(member, spaceId, plaintext, name);
  const res = await tusCreate(member.client, made.doc, {
    spaceId,
    spaceGeneration: String(made.generation),
    spaceKeyWrap: made.spaceKeyWrap,
  });
  return { ...made, res };
}

/** A tus creation carrying the whole blob, with extra Upload-Metadata fields. */
export function tusCreate(c: TestClient, doc: TestDocument, extra: Record<string, string> = {}) {
  return c.agent
    .post('/api/uploads')
    .set('X-CSRF-Token', c.csrf)
    .set('Tus-Resumable', '1.0.0')
    .set('Upload-Length', String(doc.blob.length))
    .set('Upload-Metadata', tusMetadata({ docId: doc.id, meta: doc.meta, keyWrap: doc.keyWrap, ...extra }))
    .set('Content-Type', 'application/offset+octet-stream')
    .send(Buffer.from(doc.blob));
}

/** Moves one of the owner's documents into a space (wrapping its key under the current generation). */
export async function moveIntoSpace(owner: Person, docId: string, spaceId: string) {
  const space = await spaceView(owner, spaceId);
  const key = (await spaceKeys(owner, spaceId))[space.generation - 1];
  if (!key) throw new Error('the owner holds no key of the current generation');
  const docKey = await ownDocKey(owner, docId);
  return owner.client.agent
    .put(`/api/documents/${docId}/space`)
    .set('X-CSRF-Token', owner.client.csrf)
    .set('Accept', 'application/json')
    .send({ spaceId, generation: space.generation, keyWrap: toB64(wrapDocKeyForSpace(key, docKey, docId, spaceId, space.generation)) });
}

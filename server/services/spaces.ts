import { z } from 'zod';
import type { Db } from '../db/connection.js';
import { spaces, type MemberWithName, type SpaceKeyRow, type SpaceRole, type SpaceRow } from '../db/spaces.js';
import { users, type UserRow } from '../db/users.js';
import { Conflict, Forbidden, NotFound, Validation } from '../errors.js';
import { AEAD_OVERHEAD, AEAD_VERSION, SEALED_KEY_BYTES, SPACE_NAME_PAD_BLOCK, fromB64, isUuid, verifySpaceKeySignature } from '../../client/crypto/index.js';
import { SOMEONE_ELSE, type AuditService, type Origin } from './audit.js';
import { b64Field } from './fields.js';

/**
 * The longest sealed name: 80 characters of at most 4 UTF-8 bytes each, padded (sodium_pad always adds at
 * least one byte) to the next multiple of 64.
 */
const NAME_MAX_PADDED = Math.ceil((80 * 4 + 1) / SPACE_NAME_PAD_BLOCK) * SPACE_NAME_PAD_BLOCK;

const b64 = z.string().min(1).max(200);
const generation = z.number().int().min(1).max(1_000_000);
const role = z.enum(['manager', 'member']);

export const createSpaceSchema = z.object({
  id: z.string().max(64),
  name: z.string().min(1).max(1000),
  keys: z.array(z.object({ generation, sealed: b64, sig: b64 })).min(1).max(1),
});
export const renameSpaceSchema = z.object({ name: z.string().min(1).max(1000), generation });
export const addMemberSchema = z.object({
  userId: z.string().max(64),
  role: role.optional(),
  keys: z.array(z.object({ generation, sealed: b64, sig: b64 })).min(1).max(1000),
});
export const removeMemberSchema = z.object({
  generation,
  name: z.string().min(1).max(1000),
  keys: z.array(z.object({ memberId: z.string().max(64), sealed: b64, sig: b64 })).max(1000),
});
export const roleSchema = z.object({ role });

export interface SpaceMemberView {
  userId: string;
  username: string;
  role: SpaceRole;
  addedBy: string | null;
  addedAt: number;
}

/** A space as one member's client receives it (docs/api.md "Spaces"): only that member's own sealed keys. */
export interface SpaceView {
  id: string;
  name: string;
  nameGeneration: number;
  generation: number;
  role: SpaceRole;
  createdBy: string | null;
  createdAt: number;
  members: SpaceMemberView[];
  keys: { generation: number; sealed: string; sig: string; signerId: string }[];
}

const spaceMissing = () => new NotFound('There is no such space, or you are not one of its members.', 'space_not_found');

/** A space ID from a request: anything that is not a UUID is a space that does not exist. */
export function spaceId(raw: unknown): string {
  if (!isUuid(raw)) throw spaceMissing();
  return raw;
}

/**
 * Whether a person may add a document to a space under generation `g`: they are a member, and `g` is the
 * space key's current generation (crypto.md: nothing new is wrapped under a key a removed member holds).
 */
export async function checkSpaceWrite(db: Db, userId: string, id: string, g: unknown): Promise<SpaceRow> {
  const [space, member] = await Promise.all([spaces.byId(db, id), spaces.member(db, id, userId)]);
  if (!space || !member) throw spaceMissing();
  if (g !== Number(space.generation)) throw staleGeneration(Number(space.generation));
  return space;
}

function staleGeneration(current: number): Conflict {
  return new Conflict(
    `The space’s key has changed since this page loaded (it is now generation ${current}). Reload and try again.`,
    'stale_generation',
  );
}

/** A space's name: AEAD(spaceKey_g, sodium_pad(name, 64)) (crypto.md), so 41 + 64 × k bytes. */
function checkName(b64Name: string): void {
  const bytes = b64Field(b64Name, 'The space’s name', 'bad_name');
  const body = bytes.length - AEAD_OVERHEAD;
  if (bytes[0] !== AEAD_VERSION || body < SPACE_NAME_PAD_BLOCK || body % SPACE_NAME_PAD_BLOCK !== 0 || body > NAME_MAX_PADDED) {
    throw new Validation('The space’s name is not in the expected encrypted format.', 'bad_name');
  }
}

function badKey(message: string): Validation {
  return new Validation(message, 'bad_space_key');
}

/** The caller's signing key: every sealed space key they send must carry their signature. */
async function signerOf(db: Db, userId: string): Promise<UserRow> {
  const row = await users.byId(db, userId);
  if (!row) throw spaceMissing();
  return row;
}

/** One sealed space key from a request, checked: 80 bytes, signed by the caller for this member and generation. */
function checkSealed(signer: UserRow, id: string, memberId: string, g: number, sealedB64: string, sigB64: string): void {
  const sealed = b64Field(sealedB64, 'A sealed space key', 'bad_space_key');
  if (sealed.length !== SEALED_KEY_BYTES) throw badKey(`A sealed space key must be ${SEALED_KEY_BYTES} bytes.`);
  const sig = b64Field(sigB64, 'A space key’s signature', 'bad_signature');
  if (!verifySpaceKeySignature(fromB64(signer.sign_pk), sig, id, memberId, g, sealed)) {
    throw new Validation('A sealed space key does not carry your valid signature for this member and generation.', 'bad_signature');
  }
}

/** A person who may receive a space's key: an account that exists and is not disabled. */
async function recipient(db: Db, raw: unknown): Promise<UserRow> {
  const row = isUuid(raw) ? await users.byId(db, raw) : undefined;
  if (!row || row.disabled_at) throw new Validation('There is no such person, or their account is disabled.', 'bad_recipient');
  return row;
}

function view(space: SpaceRow, members: MemberWithName[], keys: SpaceKeyRow[], userId: string): SpaceView {
  const mine = members.find((m) => m.user_id === userId);
  return {
    id: space.id,
    name: space.name,
    nameGeneration: Number(space.name_generation),
    generation: Number(space.generation),
    role: mine?.role ?? 'member',
    createdBy: space.created_by,
    createdAt: Number(space.created_at),
    members: members.map((m) => ({ userId: m.user_id, username: m.username, role: m.role, addedBy: m.added_by, addedAt: Number(m.added_at) })),
    keys: keys.map((k) => ({ generation: Number(k.generation), sealed: k.sealed, sig: k.sig, signerId: k.signer_id })),
  };
}

/**
 * Spaces: shared folders whose documents every member reads (crypto.md "Sharing and spaces"). The server
 * keeps who is a member, hands each member only their own sealed keys, refuses keys the caller did not sign,
 * and cuts a removed member off at once. It never sees a space key or a space's name.
 */
export class SpaceService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
  ) {}

  async list(userId: string): Promise<SpaceView[]> {
    const rows = await spaces.ofMember(this.db, userId);
    const ids = rows.map((r) => r.id);
    const [members, keys] = await Promise.all([spaces.membersOf(this.db, ids), spaces.keysOf(this.db, ids, userId)]);
    return rows.map((s) =>
      view(
        s,
        members.filter((m) => m.space_id === s.id),
        keys.filter((k) => k.space_id === s.id),
        userId,
      ),
    );
  }

  async get(userId: string, rawId: unknown, db: Db = this.db): Promise<SpaceView> {
    const id = spaceId(rawId);
    const space = await spaces.byId(db, id);
    const members = space ? await spaces.membersOf(db, [id]) : [];
    if (!space || !members.some((m) => m.user_id === userId)) throw spaceMissing();
    return view(space, members, await spaces.keysOf(db, [id], userId), userId);
  }

  /** A new space with the caller as its first manager and the first generation of its key sealed to them. */
  async create(userId: string, input: z.infer<typeof createSpaceSchema>, origin: Origin): Promise<SpaceView> {
    if (!isUuid(input.id)) throw new Validation('The space ID must be a lowercase UUID.', 'bad_space_id');
    const id = input.id;
    checkName(input.name);
    const key = input.keys[0];
    if (!key || key.generation !== 1) throw badKey('A new space starts with generation 1 of its key.');
    const signer = await signerOf(this.db, userId);
    checkSealed(signer, id, userId, 1, key.sealed, key.sig);
    const now = Date.now();
    const space = await this.db.transaction(async (trx) => {
      if (await spaces.byId(trx, id)) throw new Conflict('A space with this ID already exists. Make a new ID.', 'space_exists');
      await spaces.insert(trx, { id, name: input.name, name_generation: 1, generation: 1, created_by: userId, created_at: now, updated_at: now });
      await spaces.addMember(trx, { space_id: id, user_id: userId, role: 'manager', added_by: userId, added_at: now });
      await spaces.insertKeys(trx, [{ space_id: id, member_id: userId, generation: 1, sealed: key.sealed, sig: key.sig, signer_id: userId, created_at: now }]);
      return this.get(userId, id, trx);
    });
    await this.audit.record('space_created', userId, origin, { spaceId: id });
    return space;
  }

  /** The space as a manager may change it; a member who is not a manager gets 403, anyone else 404. */
  private async managed(db: Db, userId: string, rawId: unknown): Promise<SpaceRow> {
    const id = spaceId(rawId);
    const [space, me] = await Promise.all([spaces.byId(db, id), spaces.member(db, id, userId)]);
    if (!space || !me) throw spaceMissing();
    if (me.role !== 'manager') throw new Forbidden('Only a manager of this space can do that.', 'not_manager');
    return space;
  }

  /** A new name, sealed under the current generation of the key. */
  async rename(userId: string, rawId: unknown, input: z.infer<typeof renameSpaceSchema>, origin: Origin): Promise<SpaceView> {
    const result = await this.db.transaction(async (trx) => {
      const space = await this.managed(trx, userId, rawId);
      checkName(input.name);
      if (input.generation !== Number(space.generation)) throw staleGeneration(Number(space.generation));
      await spaces.setName(trx, space.id, input.name, input.generation, Date.now());
      return this.get(userId, space.id, trx);
    });
    await this.audit.record('space_renamed', userId, origin, { spaceId: result.id });
    return result;
  }

  /**
   * Adds a member with every generation of the key sealed to them by the caller, so they can open every
   * document of the space, old ones too.
   */
  async addMember(userId: string, rawId: unknown, input: z.infer<typeof addMemberSchema>, origin: Origin): Promise<SpaceView> {
    const signer = await signerOf(this.db, userId);
    const { result, member } = await this.db.transaction(async (trx) => {
      const space = await this.managed(trx, userId, rawId);
      const member = await recipient(trx, input.userId);
      if (await spaces.member(trx, space.id, member.id)) throw new Conflict(`${member.username} is already a member of this space.`, 'already_member');
      const current = Number(space.generation);
      const gens = input.keys.map((k) => k.generation).sort((a, b) => a - b);
      if (!gens.every((g, i) => g === i + 1)) {
        throw badKey('The keys must be every generation of the space key from 1, each once.');
      }
      if (gens.length !== current) throw staleGeneration(current);
      for (const k of input.keys) checkSealed(signer, space.id, member.id, k.generation, k.sealed, k.sig);
      const now = Date.now();
      await spaces.addMember(trx, { space_id: space.id, user_id: member.id, role: input.role ?? 'member', added_by: userId, added_at: now });
      await spaces.insertKeys(
        trx,
        input.keys.map((k) => ({ space_id: space.id, member_id: member.id, generation: k.generation, sealed: k.sealed, sig: k.sig, signer_id: userId, created_at: now })),
      );
      await spaces.touch(trx, space.id, now);
      return { result: await this.get(userId, space.id, trx), member };
    });
    await this.audit.record('space_member_added', userId, origin, { spaceId: result.id, username: member.username, outgoing: true });
    await this.audit.record('space_member_added', member.id, SOMEONE_ELSE, { spaceId: result.id, username: signer.username, outgoing: false });
    return result;
  }

  /**
   * Removes a member in one transaction: their membership and every sealed key they had go, the key moves
   * to the next generation, every remaining member gets it sealed by the caller, and the name is sealed
   * again under it. From the next request on the removed member reads nothing of the space.
   */
  async removeMember(userId: string, rawId: unknown, rawMemberId: unknown, input: z.infer<typeof removeMemberSchema>, origin: Origin): Promise<SpaceView> {
    const signer = await signerOf(this.db, userId);
    const { result, removed } = await this.db.transaction(async (trx) => {
      const space = await this.managed(trx, userId, rawId);
      checkName(input.name);
      if (rawMemberId === userId) {
        throw new Validation('You cannot remove yourself from a space you manage. Ask another manager to do it.', 'cannot_remove_self');
      }
      const members = await spaces.membersOf(trx, [space.id]);
      const removed = members.find((m) => m.user_id === rawMemberId);
      if (!removed) throw new NotFound('This person is not a member of this space.', 'member_not_found');
      const next = Number(space.generation) + 1;
      if (input.generation !== next) throw staleGeneration(Number(space.generation));
      const remaining = members.filter((m) => m.user_id !== removed.user_id).map((m) => m.user_id);
      const given = input.keys.map((k) => k.memberId);
      if (given.length !== remaining.length || new Set(given).size !== given.length || !remaining.every((id) => given.includes(id))) {
        throw badKey('The new keys must be sealed to exactly every remaining member, once each.');
      }
      for (const k of input.keys) checkSealed(signer, space.id, k.memberId, next, k.sealed, k.sig);
      const now = Date.now();
      await spaces.removeMember(trx, space.id, removed.user_id);
      if (!(await spaces.rotate(trx, space.id, next - 1, input.name, now))) throw staleGeneration(next - 1);
      await spaces.insertKeys(
        trx,
        input.keys.map((k) => ({ space_id: space.id, member_id: k.memberId, generation: next, sealed: k.sealed, sig: k.sig, signer_id: userId, created_at: now })),
      );
      return { result: await this.get(userId, space.id, trx), removed };
    });
    await this.audit.record('space_member_removed', userId, origin, { spaceId: result.id, username: removed.username, outgoing: true });
    await this.audit.record('space_member_removed', removed.user_id, SOMEONE_ELSE, { spaceId: result.id, username: signer.username, outgoing: false });
    return result;
  }

  /** Makes a member a manager or a manager a member; a space always keeps at least one manager. */
  async setRole(userId: string, rawId: unknown, rawMemberId: unknown, input: z.infer<typeof roleSchema>): Promise<SpaceView> {
    return this.db.transaction(async (trx) => {
      const space = await this.managed(trx, userId, rawId);
      const member = isUuid(rawMemberId) ? await spaces.member(trx, space.id, rawMemberId) : undefined;
      if (!member) throw new NotFound('This person is not a member of this space.', 'member_not_found');
      if (member.role === 'manager' && input.role === 'member' && (await spaces.managers(trx, space.id)) <= 1) {
        throw new Conflict('A space needs at least one manager: make someone else a manager first.', 'last_manager');
      }
      await spaces.setRole(trx, space.id, member.user_id, input.role);
      return this.get(userId, space.id, trx);
    });
  }
}

/**
 * The sharing half of the offline rescue (docs/rescue.md "Shared documents and spaces: whose keys are
 * trusted"): the documents a person can read without owning them, through the spaces they belong to and
 * the grants made to them (crypto.md "Sharing and spaces", docs/format.md "Sharing and spaces"). Every
 * signed key is checked the way the browser checks it (client/pages/trust.ts, keyring.ts): the signer's
 * public keys come from the database, must carry a valid self-signature, and must match the fingerprint
 * this person pinned for them. The database is the server's: without these checks, whoever changed it
 * could hand the rescue a key of their own making.
 */
import {
  bitsToWords,
  emptyPins,
  fingerprint,
  fromB64,
  fromHex,
  isCryptoError,
  memzero,
  openGrant,
  openPins,
  openSpaceKey,
  openSpaceName,
  unwrapDocKeyForSpace,
  verifySelfSignature,
  type Pins,
  type UnlockedKeys,
} from '../client/crypto/index.js';
import type { Db } from '../server/db/connection.js';
import type { UserRow } from '../server/db/users.js';
import type { GrantRow } from '../server/db/grants.js';
import type { SpaceKeyRow, SpaceRow } from '../server/db/spaces.js';
import type { DocumentRow } from '../server/db/documents.js';

/** A signed key was refused: the message says why, naming the person (docs/rescue.md "…whose keys are trusted"). */
export class NotTrustedError extends Error {}

/** Public columns of every account: signers, sharers and the people who added documents to a space. */
type PersonRow = Pick<UserRow, 'id' | 'username' | 'box_pk' | 'sign_pk' | 'recovery_auth_pk' | 'self_signature'>;
type SpaceNameRow = Pick<SpaceRow, 'id' | 'name' | 'name_generation'>;
type KeyRow = Pick<SpaceKeyRow, 'space_id' | 'generation' | 'sealed' | 'sig' | 'signer_id'>;
/** A document of someone else, in one of the person's spaces or shared with them. */
export type OthersDocument = Pick<DocumentRow, 'id' | 'owner_id' | 'meta' | 'created_at'> & {
  space_id: string | null;
  space_generation: number | null;
  space_key_wrap: string | null;
};
export type SharedDocument = OthersDocument & Pick<GrantRow, 'sharer_id' | 'sealed' | 'sig'>;

/** What the database holds for one person beyond their own documents. */
export interface SharingRows {
  people: Map<string, PersonRow>;
  /** the pins envelope (b64), or null when the person never pinned anything */
  pins: string | null;
  /** the spaces the person is a member of */
  spaces: SpaceNameRow[];
  /** the person's own sealed copies of space keys, every generation */
  keys: KeyRow[];
  /** documents others added to those spaces, outside the trash */
  spaceDocuments: OthersDocument[];
  /** documents shared with the person, outside the trash and not in one of their spaces */
  sharedDocuments: SharedDocument[];
}

const DOCUMENT_COLUMNS = ['id', 'owner_id', 'meta', 'created_at', 'space_id', 'space_generation', 'space_key_wrap'];

/**
 * Reads everything needed, read-only. A database from before sharing existed (an old backup) has none of
 * these tables: then there is simply nothing shared to rescue.
 */
export async function readSharing(db: Db, userId: string): Promise<SharingRows> {
  const rows: SharingRows = { people: new Map(), pins: null, spaces: [], keys: [], spaceDocuments: [], sharedDocuments: [] };
  if (!(await db.schema.hasTable('grants'))) return rows;
  const people = (await db('users').select('id', 'username', 'box_pk', 'sign_pk', 'recovery_auth_pk', 'self_signature')) as PersonRow[];
  rows.people = new Map(people.map((p) => [p.id, p]));
  if (await db.schema.hasTable('pins')) {
    rows.pins = ((await db('pins').where({ user_id: userId }).first('envelope')) as { envelope: string } | undefined)?.envelope ?? null;
  }
  rows.spaces = (await db('space_members')
    .join('spaces', 'spaces.id', 'space_members.space_id')
    .where('space_members.user_id', userId)
    .select('spaces.id', 'spaces.name', 'spaces.name_generation')
    .orderBy('spaces.created_at')) as SpaceNameRow[];
  const spaceIds = rows.spaces.map((s) => s.id);
  rows.keys = (await db('space_keys').where({ member_id: userId }).select('space_id', 'generation', 'sealed', 'sig', 'signer_id')) as KeyRow[];
  if (spaceIds.length > 0) {
    rows.spaceDocuments = (await db('documents')
      .whereIn('space_id', spaceIds)
      .whereNot('owner_id', userId)
      .whereNull('deleted_at') // others' trash is theirs: never rescued
      .select(DOCUMENT_COLUMNS)
      .orderBy(['created_at', 'id'])) as OthersDocument[];
  }
  const mySpaces = new Set(spaceIds);
  const shared = (await db('grants')
    .join('documents', 'documents.id', 'grants.document_id')
    .where('grants.recipient_id', userId)
    .whereNot('documents.owner_id', userId)
    .whereNull('documents.deleted_at')
    .select([...DOCUMENT_COLUMNS.map((c) => `documents.${c}`), 'grants.sharer_id', 'grants.sealed', 'grants.sig'])
    .orderBy(['documents.created_at', 'documents.id'])) as SharedDocument[];
  // one in a space the person belongs to is rescued there, once
  rows.sharedDocuments = shared.filter((d) => d.space_id === null || !mySpaces.has(d.space_id));
  return rows;
}

/** The six fingerprint words of 64 hex characters, for messages a person compares with what they saw. */
function words(hex: string): string {
  return bitsToWords(fromHex(hex), 6).join(' ');
}

interface Signer {
  username: string;
  signPk: Uint8Array;
  /** false when this person never compared this signer's words and marked them verified */
  verified: boolean;
}

/**
 * Opens the keys of space documents and grants with the person's own keys, trusting a signer only as the
 * browser would. Keys opened once are kept for the other documents of the same space and generation.
 */
export class SharedKeys {
  readonly #keys: UnlockedKeys;
  readonly #userId: string;
  readonly #rows: SharingRows;
  #pins: Pins = emptyPins();
  /** set when the pins exist but do not open: then no one else's signature can be trusted */
  #pinsProblem: string | null = null;
  readonly #signers = new Map<string, Signer | NotTrustedError>();
  readonly #spaceKeys = new Map<string, { key: Uint8Array; signerId: string } | Error>();
  readonly #folders = new Map<string, string>();

  constructor(rows: SharingRows, keys: UnlockedKeys, userId: string) {
    this.#rows = rows;
    this.#keys = keys;
    this.#userId = userId;
    if (rows.pins !== null) {
      try {
        this.#pins = openPins(keys.accountKey, userId, fromB64(rows.pins));
      } catch {
        // treating them as empty would quietly accept every changed key
        this.#pinsProblem = 'your saved fingerprints (pins) in this database do not open: they were changed or damaged, so no one else’s key can be checked.';
      }
    }
  }

  username(id: string): string {
    return this.#rows.people.get(id)?.username ?? `(unknown account ${id.slice(0, 8)})`;
  }

  /**
   * The signing key of `id`, if this person may trust it (trust.ts: a valid self-signature, and the pinned
   * fingerprint when there is one). Their own keys were checked when the account opened.
   */
  signer(id: string): Signer {
    const cached = this.#signers.get(id);
    if (cached instanceof NotTrustedError) throw cached;
    if (cached) return cached;
    let result: Signer | NotTrustedError;
    try {
      result = this.#checkSigner(id);
    } catch (e) {
      if (!(e instanceof NotTrustedError)) throw e;
      result = e;
    }
    this.#signers.set(id, result);
    if (result instanceof NotTrustedError) throw result;
    return result;
  }

  #checkSigner(id: string): Signer {
    if (id === this.#userId) return { username: this.username(id), signPk: this.#keys.signPk, verified: true };
    const p = this.#rows.people.get(id);
    if (!p) throw new NotTrustedError(`it is signed by an account that is not in this database (${id}).`);
    if (this.#pinsProblem) throw new NotTrustedError(this.#pinsProblem);
    let boxPk: Uint8Array;
    let signPk: Uint8Array;
    try {
      boxPk = fromB64(p.box_pk);
      signPk = fromB64(p.sign_pk);
      if (!verifySelfSignature(signPk, fromB64(p.self_signature), p.id, boxPk, fromB64(p.recovery_auth_pk))) throw new Error('bad');
    } catch {
      throw new NotTrustedError(`${p.username}’s keys in this database do not carry their own valid signature, so they may not be ${p.username}’s at all.`);
    }
    const fp = fingerprint(signPk, boxPk).hex;
    const pin = this.#pins.users[id];
    if (pin && pin.fp !== fp) {
      throw new NotTrustedError(
        `${p.username}’s key in this database is not the one you pinned for them (you saw “${words(pin.fp)}”, ` +
          `the database has “${words(fp)}”): it was changed after you saw it.`,
      );
    }
    return { username: p.username, signPk, verified: pin?.verified === true };
  }

  /** True when the person never compared this signer's words (no pin, or pinned as seen only). */
  unverified(signerId: string): boolean {
    return !this.signer(signerId).verified;
  }

  /** The person's key of one generation of a space, its signature checked first. */
  spaceKey(spaceId: string, g: number): { key: Uint8Array; signerId: string } {
    const id = `${spaceId}/${g}`;
    let entry = this.#spaceKeys.get(id);
    if (!entry) {
      try {
        entry = this.#openSpaceKey(spaceId, g);
      } catch (e) {
        if (!(e instanceof Error)) throw e;
        entry = e;
      }
      this.#spaceKeys.set(id, entry);
    }
    if (entry instanceof Error) throw entry;
    return entry;
  }

  #openSpaceKey(spaceId: string, g: number): { key: Uint8Array; signerId: string } {
    const row = this.#rows.keys.find((k) => k.space_id === spaceId && Number(k.generation) === g);
    if (!row) throw new Error(`you were never given generation ${g} of this space’s key.`);
    const signer = this.signer(row.signer_id);
    try {
      const key = openSpaceKey(
        { sealed: fromB64(row.sealed), sig: fromB64(row.sig) },
        spaceId,
        this.#userId,
        g,
        signer.signPk,
        this.#keys.boxPk,
        this.#keys.boxSk,
      );
      return { key, signerId: row.signer_id };
    } catch (e) {
      throw trustFailure(e, `your copy of this space’s key (generation ${g}) does not open`);
    }
  }

  /** The folder name of a space: its name, opened with its key; "Space <first 8 of its ID>" otherwise. */
  spaceName(spaceId: string): string {
    let name = this.#folders.get(spaceId);
    if (name !== undefined) return name;
    name = `Space ${spaceId.slice(0, 8)}`;
    const space = this.#rows.spaces.find((s) => s.id === spaceId);
    if (space) {
      try {
        const g = Number(space.name_generation);
        name = openSpaceName(this.spaceKey(spaceId, g).key, spaceId, g, fromB64(space.name));
      } catch {
        // the documents say why their key does not open; the folder just keeps its neutral name
      }
    }
    this.#folders.set(spaceId, name);
    return name;
  }

  /** The key of a document in one of the person's spaces; `signerId` is whoever sealed the space key. */
  spaceDocKey(doc: OthersDocument): { docKey: Uint8Array; signerId: string } {
    if (!doc.space_id || doc.space_generation === null || !doc.space_key_wrap) throw new Error('its space fields are incomplete.');
    const g = Number(doc.space_generation);
    const { key, signerId } = this.spaceKey(doc.space_id, g);
    return { docKey: unwrapDocKeyForSpace(key, fromB64(doc.space_key_wrap), doc.id, doc.space_id, g), signerId };
  }

  /** The key of a document shared with the person: the sharer's signature is checked before the box opens. */
  grantDocKey(doc: SharedDocument): { docKey: Uint8Array; signerId: string } {
    const signer = this.signer(doc.sharer_id);
    try {
      const docKey = openGrant({ sealed: fromB64(doc.sealed), sig: fromB64(doc.sig) }, doc.id, this.#userId, signer.signPk, this.#keys.boxPk, this.#keys.boxSk);
      return { docKey, signerId: doc.sharer_id };
    } catch (e) {
      throw trustFailure(e, 'the key shared with you does not open');
    }
  }

  /** Overwrites every opened space key. */
  wipe(): void {
    for (const entry of this.#spaceKeys.values()) if (!(entry instanceof Error)) memzero(entry.key);
    this.#spaceKeys.clear();
  }
}

/** A bad signature means someone other than the signer made the box: not trusted. Anything else is damage. */
function trustFailure(e: unknown, what: string): Error {
  if (e instanceof NotTrustedError) return e;
  if (isCryptoError(e, 'signature')) return new NotTrustedError(lowerFirst(e.message));
  return new Error(`${what}: ${(e as Error).message}`);
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

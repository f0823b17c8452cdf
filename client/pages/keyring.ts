/**
 * Every document key this person can use, whatever way they came by it (crypto.md "Documents", "Sharing and
 * spaces"): their own wrap under the account key, a grant sealed to them by the person who shared the
 * document, or the key of a space they belong to. Nothing is opened before its signature has been checked
 * against the signer's pinned key (trust.ts), and a space whose key the server serves at an older generation
 * than this browser has already seen is marked stale: no new document is wrapped under it.
 */
import {
  CryptoError,
  fromB64,
  memzero,
  openGrant,
  openSpaceKey,
  openSpaceName,
  unwrapDocKeyForOwner,
  unwrapDocKeyForSpace,
  type UnlockedKeys,
} from '../crypto/index.js';
import type { SpaceView } from '../../server/services/spaces.js';
import { api } from './api.js';

/** A space as GET /api/spaces sends it (docs/api.md "Spaces"), defined once by the server (a type-only
 * import: no server code reaches the bundle). */
export type SpaceWire = SpaceView;

/** The fields of a DocumentView (docs/api.md "Documents") that say how its key reaches this person. */
export interface KeyedView {
  id: string;
  ownerId: string;
  keyWrap: string | null;
  spaceId: string | null;
  spaceGeneration: number | null;
  spaceKeyWrap: string | null;
  grant: { sharerId: string; sealed: string; sig: string } | null;
}

/** What the keyring needs of trust.ts: the pinned keys of a person, and the generations seen per space. */
export interface TrustLike {
  /** the pinned signing key of a person whose signature is checked (trust.ts: disabled accounts still count) */
  signerKey(id: string): Uint8Array;
  spaceGeneration(spaceId: string): number;
  noteSpaceGeneration(spaceId: string, g: number): Promise<void>;
}

/** Why a key could not be used, in a sentence for the page. */
export class KeyringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyringError';
  }
}

export interface OpenSpace {
  id: string;
  /** the space's name, or null when it could not be opened (`problem` says why) */
  name: string | null;
  generation: number;
  role: 'manager' | 'member';
  createdBy: string | null;
  createdAt: number;
  members: SpaceWire['members'];
  /** the server served an older generation than this browser has seen: never wrap anything new under it */
  stale: boolean;
  /** why the current key cannot be used, or null when it can */
  problem: string | null;
  /** the generations whose keys opened */
  generations(): number[];
  /** the space key of generation g (throws KeyringError with a sentence when it is not held or did not open) */
  keyOf(g: number): Uint8Array;
}

function sentence(e: unknown): string {
  return e instanceof Error && e.message ? e.message : 'This key could not be opened.';
}

class Space implements OpenSpace {
  readonly id: string;
  readonly generation: number;
  readonly role: 'manager' | 'member';
  readonly createdBy: string | null;
  readonly createdAt: number;
  readonly members: SpaceWire['members'];
  name: string | null = null;
  stale = false;
  problem: string | null = null;
  readonly keys = new Map<number, Uint8Array>();
  readonly failures = new Map<number, string>();

  constructor(wire: SpaceWire) {
    this.id = wire.id;
    this.generation = wire.generation;
    this.role = wire.role;
    this.createdBy = wire.createdBy;
    this.createdAt = wire.createdAt;
    this.members = wire.members;
  }

  generations(): number[] {
    return [...this.keys.keys()].sort((a, b) => a - b);
  }

  keyOf(g: number): Uint8Array {
    const key = this.keys.get(g);
    if (key) return key;
    throw new KeyringError(this.failures.get(g) ?? 'You do not hold the key this document of the space was added with.');
  }

  wipe(): void {
    for (const key of this.keys.values()) memzero(key);
    this.keys.clear();
  }
}

export class Keyring {
  private readonly byId = new Map<string, Space>();

  private constructor(
    private readonly keys: UnlockedKeys,
    private readonly userId: string,
    private readonly trust: TrustLike,
  ) {}

  /** GET /api/spaces, then opens every space key held (libsodium must be ready). */
  static async load(keys: UnlockedKeys, userId: string, trust: TrustLike): Promise<Keyring> {
    const { spaces } = await api<{ spaces: SpaceWire[] }>('GET', '/api/spaces');
    const ring = Keyring.fromSpaces(spaces, keys, userId, trust);
    await ring.noteGenerations();
    return ring;
  }

  /** Opens the given spaces' keys (no request): for a page that already has them. */
  static fromSpaces(spaces: SpaceWire[], keys: UnlockedKeys, userId: string, trust: TrustLike): Keyring {
    const ring = new Keyring(keys, userId, trust);
    for (const wire of spaces) ring.byId.set(wire.id, ring.open(wire));
    return ring;
  }

  spaces(): OpenSpace[] {
    return [...this.byId.values()];
  }

  space(id: string): OpenSpace | undefined {
    return this.byId.get(id);
  }

  /**
   * The key of a document this person can read: their own wrap first, then the space's key, then a grant.
   * Their own wrap is the owner's, or for someone else's document the wrap this browser made when it
   * accepted the grant (after checking its signature): either way under the account key, with this reader's
   * ID in the associated data. Throws KeyringError (a sentence for the page) or CryptoError when no way opens
   * it. The caller wipes it.
   */
  docKey(view: KeyedView): Uint8Array {
    if (view.keyWrap) {
      return unwrapDocKeyForOwner(this.keys.accountKey, fromB64(view.keyWrap), view.id, this.userId);
    }
    if (view.spaceId && view.spaceKeyWrap && view.spaceGeneration) {
      const space = this.byId.get(view.spaceId);
      if (space) return unwrapDocKeyForSpace(space.keyOf(view.spaceGeneration), fromB64(view.spaceKeyWrap), view.id, space.id, view.spaceGeneration);
      if (!view.grant) throw new KeyringError('This document is in a space you are not a member of.');
    }
    if (view.grant) {
      const sharerSignPk = this.trust.signerKey(view.grant.sharerId); // throws TrustError for a changed or unknown key
      return openGrant(
        { sealed: fromB64(view.grant.sealed), sig: fromB64(view.grant.sig) },
        view.id,
        this.userId,
        sharerSignPk,
        this.keys.boxPk,
        this.keys.boxSk,
      );
    }
    throw new KeyringError('You have no key for this document.');
  }

  /** Overwrites every opened space key (on lock). */
  wipe(): void {
    for (const space of this.byId.values()) space.wipe();
    this.byId.clear();
  }

  private open(wire: SpaceWire): Space {
    const space = new Space(wire);
    for (const k of wire.keys) {
      try {
        const signerSignPk = this.trust.signerKey(k.signerId);
        const key = openSpaceKey(
          { sealed: fromB64(k.sealed), sig: fromB64(k.sig) },
          wire.id,
          this.userId,
          k.generation,
          signerSignPk,
          this.keys.boxPk,
          this.keys.boxSk,
        );
        space.keys.set(k.generation, key);
      } catch (e) {
        space.failures.set(k.generation, sentence(e));
      }
    }
    const seen = this.trust.spaceGeneration(wire.id);
    if (wire.generation < seen) {
      space.stale = true;
      space.problem =
        `The server offered an older key for this space (generation ${wire.generation}) than this browser has already seen ` +
        `(generation ${seen}). Someone may be trying to let a removed member read new documents. Nothing new can be added until this is sorted out.`;
    } else if (!space.keys.has(wire.generation)) {
      space.problem = space.failures.get(wire.generation) ?? 'You have not been given this space’s current key.';
    }
    const nameKey = space.keys.get(wire.nameGeneration);
    if (nameKey) {
      try {
        space.name = openSpaceName(nameKey, wire.id, wire.nameGeneration, fromB64(wire.name));
      } catch (e) {
        if (!(e instanceof CryptoError)) throw e;
      }
    }
    return space;
  }

  /** Remembers each space's current generation in the pins once its key has opened (never a stale one). */
  private async noteGenerations(): Promise<void> {
    for (const space of this.byId.values()) {
      if (!space.stale && space.keys.has(space.generation) && space.generation > this.trust.spaceGeneration(space.id)) {
        await this.trust.noteSpaceGeneration(space.id, space.generation);
      }
    }
  }
}

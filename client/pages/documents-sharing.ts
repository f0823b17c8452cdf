/**
 * What the documents page needs of the family's keys (crypto.md "Sharing and spaces"): whom to trust
 * (trust.ts: the directory checked against this person's pins) and the keys of the spaces they are in and of
 * what was shared with them (keyring.ts). Both load after unlock, while the person's own documents open;
 * the own documents never wait for them.
 */
import { toB64, wrapDocKeyForOwner, type UnlockedKeys } from '../crypto/index.js';
import { api } from './api.js';
import type { DocumentView, Origin } from './documents-model.js';
import { Keyring, type OpenSpace } from './keyring.js';
import { Trust, TrustError } from './trust.js';

export type { OpenSpace };

/** How many accepted grants one request carries (the server's limit, docs/api.md "Sharing documents"). */
const ACCEPT_BATCH = 1000;

export class Sharing {
  private constructor(
    public trust: Trust,
    readonly keyring: Keyring,
    readonly keys: UnlockedKeys,
    readonly userId: string,
  ) {}

  static async load(keys: UnlockedKeys, userId: string): Promise<Sharing> {
    const trust = await Trust.load(keys, userId);
    const keyring = await Keyring.load(keys, userId, trust);
    return new Sharing(trust, keyring, keys, userId);
  }

  /**
   * Reads the directory and the pins again before anything is sealed to someone: a key the server changed
   * since the page loaded is then caught (and shown) instead of used.
   */
  async reloadTrust(): Promise<Trust> {
    this.trust = await Trust.load(this.keys, this.userId);
    return this.trust;
  }

  /** Locked: the opened space keys are overwritten. */
  wipe(): void {
    this.keyring.wipe();
  }

  username(id: string): string | null {
    return this.trust.member(id)?.username ?? null;
  }

  /** The spaces this person is in, by name. */
  spaces(): OpenSpace[] {
    return this.keyring.spaces().slice().sort((a, b) => spaceName(a).localeCompare(spaceName(b)));
  }

  space(id: string): OpenSpace | undefined {
    return this.keyring.space(id);
  }

  /** The key of generation g of one of this person's spaces, or null when they do not hold it. */
  spaceKey(spaceId: string, g: number): Uint8Array | null {
    try {
      return this.space(spaceId)?.keyOf(g) ?? null;
    } catch {
      return null;
    }
  }

  /** Documents others added to this person's spaces, which open with a space key the keyring holds. */
  inOpenSpace(view: DocumentView): boolean {
    return Boolean(view.spaceId && view.spaceKeyWrap && view.spaceGeneration && this.space(view.spaceId));
  }

  /** How this person reaches a document, for its row and its panel. */
  origin(view: DocumentView): Origin {
    const own = view.ownerId === this.userId;
    const inSpace = view.spaceId ? spaceName(this.space(view.spaceId)) : null;
    return {
      own,
      sharedBy: !own && view.grant && !view.spaceId ? (this.username(view.grant.sharerId) ?? 'someone') : null,
      addedBy: own ? null : (this.username(view.ownerId) ?? 'someone'),
      spaceName: inSpace,
      problem: null,
    };
  }

  /**
   * Any readable document's key: the keyring checks every signature against a pinned key first. A sharer
   * whose key may not be used (changed, not valid, disabled) gives a sentence about this document.
   */
  docKey(view: DocumentView): Uint8Array {
    try {
      return this.keyring.docKey(view);
    } catch (err) {
      if (!(err instanceof TrustError)) throw err;
      const m = this.trust.member(err.memberId);
      if (m?.state === 'changed' && !m.self) {
        throw new Error(
          `${m.username}’s key has changed since you first saw it, so this document is not opened: it might not come from ${m.username}. ` +
            `Compare ${m.username}’s six words with them on the Family page; once you mark them verified, it opens.`,
        );
      }
      throw new Error(`This document is not opened. ${err.message}`);
    }
  }
}

/** A space's name as the page shows it, also when it could not be opened. */
export function spaceName(space: OpenSpace | undefined): string {
  if (!space) return 'a space you are not in';
  return space.name ?? 'A space whose name cannot be read';
}

/** How others' documents are described before (or without) the family's keys: nothing can be opened yet. */
export function originWithout(view: DocumentView, userId: string, problem: string): Origin {
  return { own: view.ownerId === userId, sharedBy: null, addedBy: null, spaceName: null, problem };
}

/**
 * A grant whose sharer's signature the keyring has just checked against the pinned key, and whose key opened
 * this document's metadata: the key wrapped under this person's own account key, exactly as an owner keeps
 * theirs (with this reader's ID in the associated data). Only a view that reached its key through its grant
 * qualifies: no wrap of its own yet, and not in a space (a space's key says nothing about a grant).
 */
export function acceptedWrap(view: DocumentView, key: Uint8Array, keys: UnlockedKeys, userId: string): { documentId: string; keyWrap: string } | null {
  if (!view.grant || view.spaceId || view.keyWrap !== null || view.ownerId === userId) return null;
  return { documentId: view.id, keyWrap: toB64(wrapDocKeyForOwner(keys.accountKey, key, view.id, userId)) };
}

/**
 * Hands the server this person's own wraps of grants just checked (POST /api/grants/accept), so the next
 * load opens them with their own documents in one batch. In the background, quietly: if it fails, the next
 * load simply opens them the slow way again and tries once more.
 */
export async function acceptGrants(accepted: { documentId: string; keyWrap: string }[]): Promise<void> {
  for (let i = 0; i < accepted.length; i += ACCEPT_BATCH) {
    try {
      await api('POST', '/api/grants/accept', { accepted: accepted.slice(i, i + ACCEPT_BATCH) });
    } catch {
      // nothing to tell the person: their documents are open; only the next load is slower
    }
  }
}

/**
 * Whom this browser trusts (crypto.md "Fingerprints"): the one place that loads the family directory and
 * this person's pins and decides, for every member, whether their public keys may be used. The server hands
 * out the keys, so it could hand out wrong ones; what catches it is here: every self-signature is checked,
 * a fingerprint seen for the first time is pinned ("seen"), a pinned one that differs is "changed" and is
 * never re-pinned by itself, and only a person comparing the six words marks a key "verified".
 *
 * Pins are saved with the version the browser read (PUT /api/pins); when another tab saved in between,
 * the stored pins are read again, merged with ours and saved once more.
 */
import type { DirectoryEntry } from '../../server/services/directory.js';
import {
  emptyPins,
  fingerprint,
  fromB64,
  openPins,
  sealPins,
  toB64,
  verifySelfSignature,
  type Fingerprint,
  type Pin,
  type Pins,
  type UnlockedKeys,
} from '../crypto/index.js';
import { ApiError, api } from './api.js';

/** 'seen' = pinned on first sight, not compared yet. */
export type KeyState = 'verified' | 'seen' | 'changed' | 'invalid';

export interface Member {
  id: string;
  username: string;
  disabled: boolean;
  boxPk: Uint8Array;
  signPk: Uint8Array;
  /** of the keys the server presents now */
  fingerprint: Fingerprint;
  state: KeyState;
  self: boolean;
  /** when the pinned fingerprint was first seen (for 'changed': when the old key was seen); null if not pinned */
  pinnedAt: number | null;
  /** when the pinned fingerprint was marked verified; null unless it was */
  verifiedAt: number | null;
}

/** Refusal to use a member's keys; the message names the person and says what to do. */
export class TrustError extends Error {
  constructor(
    message: string,
    readonly memberId: string,
  ) {
    super(message);
    this.name = 'TrustError';
  }
}


interface StoredPins {
  pins: string | null;
  version: number;
}

const ZERO_KEY = new Uint8Array(32);

/** Keys that decode and carry a valid self-signature for this user ID; null otherwise. */
function checkedKeys(e: DirectoryEntry): { boxPk: Uint8Array; signPk: Uint8Array } | null {
  try {
    const boxPk = fromB64(e.boxPk);
    const signPk = fromB64(e.signPk);
    const ok = verifySelfSignature(signPk, fromB64(e.selfSignature), e.id, boxPk, fromB64(e.recoveryAuthPk));
    return ok ? { boxPk, signPk } : null;
  } catch {
    return null;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Ours and the stored pins after another tab saved in between. Nothing is lost and nothing is overwritten
 * silently: a fingerprint pinned on one side only is kept; for the same fingerprint, verified wins over
 * seen and the first sighting is kept; for different fingerprints, the one a person verified wins (the
 * later one if both were), and otherwise the pin stored first stays, so a changed key is still reported.
 */
export function mergePins(stored: Pins, ours: Pins): Pins {
  const users: Record<string, Pin> = { ...stored.users };
  for (const [id, mine] of Object.entries(ours.users)) {
    const theirs = users[id];
    if (!theirs) {
      users[id] = mine;
    } else if (theirs.fp === mine.fp) {
      const verified = theirs.verified || mine.verified;
      const times = [theirs, mine].filter((p) => p.verified && p.verifiedAt !== null).map((p) => p.verifiedAt as number);
      users[id] = { fp: mine.fp, verified, seen: Math.min(theirs.seen, mine.seen), verifiedAt: verified && times.length ? Math.min(...times) : null };
    } else if (mine.verified && (!theirs.verified || (mine.verifiedAt ?? 0) > (theirs.verifiedAt ?? 0))) {
      users[id] = mine;
    }
  }
  const spaces: Record<string, number> = { ...stored.spaces };
  for (const [id, g] of Object.entries(ours.spaces)) spaces[id] = Math.max(g, spaces[id] ?? 0);
  return { v: 1, users, spaces };
}

export class Trust {
  #members: Member[] = [];
  #byId = new Map<string, Member>();
  #directory: DirectoryEntry[] = [];
  #pins: Pins = emptyPins();
  #version = 0;
  /** saves run one after another, each with the version the previous one left */
  #saving: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly keys: UnlockedKeys,
    private readonly userId: string,
  ) {}

  /**
   * Reads the directory and the pins, checks every member's keys and pins the fingerprints seen for the
   * first time. Throws (with a sentence) when the pins cannot be opened: treating them as empty would
   * quietly accept every changed key.
   */
  static async load(keys: UnlockedKeys, userId: string): Promise<Trust> {
    const trust = new Trust(keys, userId);
    const [{ users }, stored] = await Promise.all([
      api<{ users: DirectoryEntry[] }>('GET', '/api/directory'),
      api<StoredPins>('GET', '/api/pins'),
    ]);
    trust.#directory = users;
    trust.#pins = trust.#open(stored);
    trust.#version = stored.version;
    if (trust.#pinFirstSightings(Date.now())) await trust.#save();
    trust.#evaluate();
    return trust;
  }

  /** Every member, self included, by username. */
  members(): Member[] {
    return [...this.#members];
  }

  member(id: string): Member | undefined {
    return this.#byId.get(id);
  }

  /** The keys to seal to and check signatures with; refuses anyone whose key may not be used, naming them. */
  keysFor(id: string): { boxPk: Uint8Array; signPk: Uint8Array } {
    const m = this.#trusted(id);
    if (m.disabled) throw new TrustError(`${m.username}’s account is disabled, so nothing can be shared with them.`, id);
    return { boxPk: m.boxPk, signPk: m.signPk };
  }

  /**
   * The public key to check a signature of this person with: keysFor's rules, except that a disabled account
   * still counts. What someone shared before the admin disabled their account (a will, say) must stay
   * readable; nothing new is ever sealed to them (keysFor refuses that).
   */
  signerKey(id: string): Uint8Array {
    return this.#trusted(id).signPk;
  }

  #trusted(id: string): Member {
    const m = this.#byId.get(id);
    if (!m) throw new TrustError('That person is not a member of this Heirloom. Reload the page and choose again.', id);
    if (m.state === 'changed' && m.self) {
      throw new TrustError('The server presents keys for you that are not the ones this device unlocked. Tell your family’s admin.', id);
    }
    if (m.state === 'changed') {
      throw new TrustError(
        `${m.username}’s key has changed since you first saw it. Compare their six words with them in person or by phone and mark them verified on the Family page before sharing with them.`,
        id,
      );
    }
    if (m.state === 'invalid') {
      throw new TrustError(`${m.username}’s key is not valid (its signature does not check out), so it cannot be used. Tell your family’s admin.`, id);
    }
    return m;
  }

  /** Pins the fingerprint the server presents NOW as verified: after comparing the six words with the person. */
  async markVerified(id: string): Promise<void> {
    const m = this.#byId.get(id);
    if (!m || m.self) throw new TrustError('That person is not a member of this Heirloom. Reload the page and choose again.', id);
    if (m.state === 'invalid') this.keysFor(id); // throws: a key with a bad signature is never usable
    await this.#update((pins) => {
      const now = Date.now();
      const old = pins.users[id];
      const seen = old && old.fp === m.fingerprint.hex ? old.seen : now;
      pins.users[id] = { fp: m.fingerprint.hex, verified: true, seen, verifiedAt: now };
    });
  }

  /** The highest generation of this space's key seen so far; 0 if never. */
  spaceGeneration(spaceId: string): number {
    return this.#pins.spaces[spaceId] ?? 0;
  }

  /** Remembers a higher generation of a space's key (never a lower one) and saves the pins. */
  async noteSpaceGeneration(spaceId: string, g: number): Promise<void> {
    if (!Number.isSafeInteger(g) || g < 1 || g <= this.spaceGeneration(spaceId)) return;
    await this.#update((pins) => {
      pins.spaces[spaceId] = Math.max(g, pins.spaces[spaceId] ?? 0);
    });
  }

  #open(stored: StoredPins): Pins {
    if (stored.pins === null) return emptyPins();
    try {
      return openPins(this.keys.accountKey, this.userId, fromB64(stored.pins));
    } catch {
      throw new Error(
        'Your saved fingerprints could not be opened: they were changed or damaged on the server. Nothing was shared. Tell your family’s admin.',
      );
    }
  }

  /** Pins, as 'seen', every valid key of another member not pinned yet. True when something was pinned. */
  #pinFirstSightings(now: number): boolean {
    let added = false;
    for (const e of this.#directory) {
      if (e.id === this.userId || this.#pins.users[e.id]) continue;
      const keys = checkedKeys(e);
      if (!keys) continue;
      this.#pins.users[e.id] = { fp: fingerprint(keys.signPk, keys.boxPk).hex, verified: false, seen: now, verifiedAt: null };
      added = true;
    }
    return added;
  }

  /** Works out every member's state from the directory and the pins. */
  #evaluate(): void {
    const members = this.#directory.map((e): Member => {
      const self = e.id === this.userId;
      const keys = checkedKeys(e);
      const boxPk = keys?.boxPk ?? ZERO_KEY;
      const signPk = keys?.signPk ?? ZERO_KEY;
      const fp = keys ? fingerprint(signPk, boxPk) : { hex: '', words: [] };
      const pin = self ? undefined : this.#pins.users[e.id];
      let state: KeyState;
      if (!keys) state = 'invalid';
      // your own keys are the ones this tab unlocked; the directory must present exactly those
      else if (self) state = sameBytes(boxPk, this.keys.boxPk) && sameBytes(signPk, this.keys.signPk) ? 'verified' : 'changed';
      else if (!pin) state = 'seen'; // pinned on the next save; the keys are valid
      else if (pin.fp !== fp.hex) state = 'changed';
      else state = pin.verified ? 'verified' : 'seen';
      return {
        id: e.id,
        username: e.username,
        disabled: e.disabled,
        boxPk,
        signPk,
        fingerprint: fp,
        state,
        self,
        pinnedAt: pin?.seen ?? null,
        verifiedAt: pin && pin.fp === fp.hex && pin.verified ? pin.verifiedAt : null,
      };
    });
    members.sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
    this.#members = members;
    this.#byId = new Map(members.map((m) => [m.id, m]));
  }

  /** Applies a change to the pins and saves it (serialised with other saves); the states follow. */
  #update(change: (pins: Pins) => void): Promise<void> {
    const run = async () => {
      const before = this.#pins;
      const next = structuredClone(before);
      change(next);
      this.#pins = next;
      try {
        await this.#save(change);
      } catch (err) {
        // not saved, so not true: a verification that failed to save must not show as done
        this.#pins = before;
        throw err;
      }
      this.#evaluate();
    };
    const p = this.#saving.then(run, run);
    this.#saving = p.catch(() => undefined);
    return p;
  }

  /**
   * PUT /api/pins with the version read. On pins_changed: read again, merge, apply our change again, and
   * retry once; a second conflict is reported to the person.
   */
  async #save(change?: (pins: Pins) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const envelope = toB64(sealPins(this.keys.accountKey, this.userId, this.#pins));
      try {
        const { version } = await api<{ version: number }>('PUT', '/api/pins', { pins: envelope, version: this.#version });
        this.#version = version;
        return;
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'pins_changed') || attempt > 0) throw err;
        const stored = await api<StoredPins>('GET', '/api/pins');
        const merged = mergePins(this.#open(stored), this.#pins);
        change?.(merged);
        this.#pins = merged;
        this.#version = stored.version;
      }
    }
  }
}

/** The short label of a member's state, the same on every page that lets a person pick family members. */
export function stateLabel(m: Member): string {
  if (m.disabled) return 'Account disabled';
  switch (m.state) {
    case 'verified':
      return 'Verified';
    case 'seen':
      return 'Not verified yet';
    case 'changed':
      return 'Key changed';
    case 'invalid':
      return 'Key not valid';
  }
}

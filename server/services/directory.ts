import type { Db } from '../db/connection.js';
import { keys, type PublicKeysRow } from '../db/keys.js';
import { pins } from '../db/pins.js';
import { Conflict, PayloadTooLarge, Validation } from '../errors.js';
import { AEAD_OVERHEAD, AEAD_VERSION } from '../../client/crypto/index.js';
import { b64Field } from './fields.js';

/** The largest pins envelope accepted, in base64 characters (about 1,500 people pinned, with room to spare). */
export const PINS_MAX_B64 = 256 * 1024;

/**
 * One member of the instance with their public keys, exactly as stored (base64). The server vouches for
 * none of it: every browser checks the self-signature and compares the fingerprint with its pins.
 */
export interface DirectoryEntry {
  id: string;
  username: string;
  boxPk: string;
  signPk: string;
  recoveryAuthPk: string;
  selfSignature: string;
  disabled: boolean;
}

export interface StoredPins {
  /** the envelope, base64, or null when this person has never saved pins */
  pins: string | null;
  /** 0 when there are none */
  version: number;
}

function entry(r: PublicKeysRow): DirectoryEntry {
  return {
    id: r.id,
    username: r.username,
    boxPk: r.box_pk,
    signPk: r.sign_pk,
    recoveryAuthPk: r.recovery_auth_pk,
    selfSignature: r.self_signature,
    disabled: r.disabled_at !== null,
  };
}

function pinsChanged(version: number): Conflict {
  return new Conflict(
    'Your saved fingerprints were changed elsewhere (another tab or device) since this page read them. Read them again and retry.',
    'pins_changed',
  ).withDetails({ version });
}

/**
 * The family directory (every member and their public keys) and each person's pins (crypto.md
 * "Fingerprints"). Pins are an envelope only the person's browser can open; the server keeps it and its
 * version, and refuses a save based on a version that is no longer current, so nothing is lost silently.
 */
export class DirectoryService {
  constructor(private readonly db: Db) {}

  async list(): Promise<DirectoryEntry[]> {
    return (await keys.all(this.db)).map(entry);
  }

  async pinsOf(userId: string): Promise<StoredPins> {
    const row = await pins.get(this.db, userId);
    return row ? { pins: row.envelope, version: Number(row.version) } : { pins: null, version: 0 };
  }

  /** Stores a new envelope if `version` is still the stored one; answers the new version. */
  async savePins(userId: string, envelope: string, version: number): Promise<number> {
    checkPinsEnvelope(envelope);
    const now = Date.now();
    return this.db.transaction(async (trx) => {
      const row = await pins.get(trx, userId);
      const current = row ? Number(row.version) : 0;
      if (current !== version) throw pinsChanged(current);
      if (!row) {
        await pins.insert(trx, { user_id: userId, envelope, version: 1, updated_at: now });
        return 1;
      }
      if (!(await pins.replaceIf(trx, userId, current, envelope, now))) throw pinsChanged(current + 1);
      return current + 1;
    });
  }
}

/** An AEAD envelope (docs/format.md): version byte 0x01, nonce and tag at least; what is inside only the person knows. */
export function checkPinsEnvelope(b64: string): void {
  if (b64.length > PINS_MAX_B64) {
    throw new PayloadTooLarge(`Your saved fingerprints are larger than ${PINS_MAX_B64 / 1024} KiB of base64, which Heirloom does not accept.`);
  }
  const bytes = b64Field(b64, 'The field pins', 'bad_pins');
  if (bytes.length < AEAD_OVERHEAD || bytes[0] !== AEAD_VERSION) {
    throw new Validation('The field pins is not an encrypted envelope in the expected format.', 'bad_pins');
  }
}

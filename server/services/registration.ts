import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { invitations, type InvitationRow } from '../db/invitations.js';
import { users, type UserRow } from '../db/users.js';
import { Conflict, Gone, NotFound, Validation } from '../errors.js';
import { checkTotp, newTotpSecret, totpIssuer, totpQrSvg, totpUri } from '../auth/totp.js';
import {
  ACCOUNT_KEY_BYTES,
  AEAD_OVERHEAD,
  BOX_PK_BYTES,
  BOX_SK_BYTES,
  KDF_ALG,
  SIGNATURE_BYTES,
  SIGN_PK_BYTES,
  SIGN_SK_BYTES,
  newKdfParams,
  toB64,
  verifySelfSignature,
} from '../../client/crypto/index.js';
import { getSodium } from '../../client/crypto/sodium.js';
import { b64Field } from './fields.js';
import type { ServerCrypto } from '../auth/serverCrypto.js';
import type { AuditService, Origin } from './audit.js';

export const USERNAME_RULE = /^[a-z0-9][a-z0-9._-]{2,31}$/;
export const USERNAME_MESSAGE =
  'Usernames are 3 to 32 characters: letters, digits, dots, dashes and underscores, starting with a letter or digit.';

/** Length in bytes of each value a client registers, once base64 is decoded (crypto.md "Keys of a user"). */
const SIZES = {
  authKey: 32,
  passwordWrappedAccountKey: AEAD_OVERHEAD + ACCOUNT_KEY_BYTES,
  recoveryWrappedAccountKey: AEAD_OVERHEAD + ACCOUNT_KEY_BYTES,
  encPrivateKeys: AEAD_OVERHEAD + BOX_SK_BYTES + SIGN_SK_BYTES,
  boxPk: BOX_PK_BYTES,
  signPk: SIGN_PK_BYTES,
  recoveryAuthPk: SIGN_PK_BYTES,
  selfSignature: SIGNATURE_BYTES,
} as const;

export type KeyField = keyof typeof SIZES;

/** Decodes a base64 field and checks its length; a clear 400 otherwise. */
export function keyBytes(field: KeyField, value: string): Uint8Array {
  const bytes = b64Field(value, `The field ${field}`);
  if (bytes.length !== SIZES[field]) throw new Validation(`The field ${field} has the wrong length.`);
  return bytes;
}

export const finishSchema = z.object({
  token: z.string().min(1).max(200),
  username: z.string().max(64),
  authKey: z.string().max(200),
  passwordWrappedAccountKey: z.string().max(400),
  encPrivateKeys: z.string().max(400),
  boxPk: z.string().max(100),
  signPk: z.string().max(100),
  recoveryWrappedAccountKey: z.string().max(400),
  recoveryAuthPk: z.string().max(100),
  selfSignature: z.string().max(200),
  totpCode: z.string().max(20),
});
export type FinishInput = z.infer<typeof finishSchema>;

export interface InvitationCreated {
  id: string;
  url: string;
  token: string;
  isAdmin: boolean;
  expiresAt: string;
}

/**
 * What a registration session keeps between start and finish (in the server-side session, never sent to the
 * browser): which invitation it opened and its own authenticator secret, wrapped with the server's TOTP key.
 */
export interface RegistrationSession {
  invitationId: string;
  totpSecret: string;
}

export interface StartedRegistration {
  userId: string;
  isAdmin: boolean;
  kdf: { alg: typeof KDF_ALG; ops: number; mem: number; salt: string };
  expiresAt: string;
}

export interface RegistrationTotp {
  secret: string;
  uri: string;
  qrSvg: string;
  issuer: string;
  account: string;
}

export interface PublicUser {
  id: string;
  username: string;
  isAdmin: boolean;
}

export function publicUser(row: UserRow): PublicUser {
  return { id: row.id, username: row.username, isAdmin: Boolean(row.is_admin) };
}

export function normaliseUsername(raw: string): string {
  return raw.normalize('NFKC').trim().toLowerCase();
}

/**
 * Invitations and registration (flows.md "First start and invitations", "Registration"). The server reserves
 * the user ID and KDF parameters with the invitation and the TOTP secret with the registration session, then
 * stores what the client made in one transaction: an account exists whole or not at all.
 */
export class RegistrationService {
  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly crypto: ServerCrypto,
    private readonly audit: AuditService,
  ) {}

  async createInvitation(opts: { isAdmin: boolean; createdBy?: string | null; validHours?: number }): Promise<InvitationCreated> {
    const token = toB64(getSodium().randombytes_buf(32));
    const now = Date.now();
    const hours = opts.validHours ?? this.config.inviteDays * 24;
    const kdf = newKdfParams({ ops: this.config.kdfOps, mem: this.config.kdfMemMiB * 1024 * 1024 });
    const row: InvitationRow = {
      id: randomUUID(),
      token_hash: this.crypto.tokenHash(token),
      is_admin: opts.isAdmin,
      user_id: randomUUID(),
      kdf_ops: kdf.ops,
      kdf_mem: kdf.mem,
      kdf_salt: kdf.salt,
      totp_secret: null,
      created_by: opts.createdBy ?? null,
      created_at: now,
      expires_at: now + hours * 3600_000,
      used_at: null,
    };
    await invitations.insert(this.db, row);
    return {
      id: row.id,
      token,
      url: `${this.config.baseUrl}/register#${token}`,
      isAdmin: opts.isAdmin,
      expiresAt: new Date(row.expires_at).toISOString(),
    };
  }

  async listUsers(): Promise<(PublicUser & { createdAt: string })[]> {
    const rows = await users.list(this.db);
    return rows.map((r) => ({ ...publicUser(r), createdAt: new Date(Number(r.created_at)).toISOString() }));
  }

  async userCount(): Promise<number> {
    return users.count(this.db);
  }

  /** The invitation behind a token, or a clear 404/410. */
  private async usableInvitation(token: string): Promise<InvitationRow> {
    const inv = await invitations.byTokenHash(this.db, this.crypto.tokenHash(token));
    if (!inv) {
      throw new NotFound(
        'This invitation link is not valid. Check that you copied the whole link, or ask your family’s admin for a new one.',
        'invite_not_found',
      );
    }
    if (inv.used_at) {
      throw new Gone(
        'This invitation has already been used. If that was you, log in instead; otherwise ask your family’s admin for a new one.',
        'invite_used',
      );
    }
    if (Number(inv.expires_at) <= Date.now()) {
      throw new Gone('This invitation has expired. Ask your family’s admin for a new one.', 'invite_expired');
    }
    return inv;
  }

  /**
   * Opens an invitation for one registration session. The authenticator secret is made here, per session,
   * not per invitation: anyone else who opens the same link gets a secret of their own, which cannot finish
   * this person's registration. Pass the session's kept secret (if any) so a reload in the same browser keeps
   * the QR code already scanned; the caller keeps what comes back in `kept` in the session.
   */
  async start(token: string, kept?: RegistrationSession): Promise<{ started: StartedRegistration; kept: RegistrationSession }> {
    const inv = await this.usableInvitation(token);
    const reuse = kept?.invitationId === inv.id && typeof kept.totpSecret === 'string';
    const session: RegistrationSession = reuse
      ? kept
      : { invitationId: inv.id, totpSecret: this.crypto.wrapTotp(inv.user_id, newTotpSecret()) };
    return {
      started: {
        userId: inv.user_id,
        isAdmin: Boolean(inv.is_admin),
        kdf: { alg: KDF_ALG, ops: inv.kdf_ops, mem: inv.kdf_mem, salt: inv.kdf_salt },
        expiresAt: new Date(Number(inv.expires_at)).toISOString(),
      },
      kept: session,
    };
  }

  /**
   * The session's authenticator secret as a QR code and key, labelled with the username the person chose
   * (the label their app lists it under). The secret is the same however often this is asked within one
   * session, so a corrected username only relabels it.
   */
  async authenticator(token: string, rawUsername: string, kept: RegistrationSession | undefined): Promise<RegistrationTotp> {
    const inv = await this.usableInvitation(token);
    const username = this.validUsername(rawUsername);
    const { secret } = this.sessionTotp(inv, kept);
    const issuer = totpIssuer(this.config.baseUrl);
    const uri = totpUri(secret, username, issuer);
    return { secret, uri, qrSvg: await totpQrSvg(uri), issuer, account: username };
  }

  /** The secret kept in this session for this invitation (plain and wrapped), or a 400 sending the person back to the link. */
  private sessionTotp(inv: InvitationRow, kept: RegistrationSession | undefined): { secret: string; wrapped: string } {
    if (kept?.invitationId !== inv.id) {
      throw new Validation(
        'This registration was not started in this browser session, or it ended. Open the invitation link again.',
        'totp_not_started',
      );
    }
    return { secret: this.crypto.unwrapTotp(inv.user_id, kept.totpSecret), wrapped: kept.totpSecret };
  }

  async checkUsername(token: string, rawUsername: string): Promise<{ available: true; username: string }> {
    await this.usableInvitation(token);
    const username = this.validUsername(rawUsername);
    if (await users.byUsername(this.db, username)) throw this.taken();
    return { available: true, username };
  }

  private validUsername(raw: string): string {
    const username = normaliseUsername(raw);
    if (!USERNAME_RULE.test(username)) throw new Validation(USERNAME_MESSAGE, 'invalid_username');
    return username;
  }

  private taken(): Conflict {
    return new Conflict('That username is taken. Please choose another.', 'username_taken');
  }

  /** Creates the account; the code must come from the secret kept in the same session (`kept`). */
  async finish(input: FinishInput, kept: RegistrationSession | undefined, origin: Origin): Promise<PublicUser> {
    const inv = await this.usableInvitation(input.token);
    const username = this.validUsername(input.username);
    const authKey = keyBytes('authKey', input.authKey);
    for (const f of ['passwordWrappedAccountKey', 'encPrivateKeys', 'recoveryWrappedAccountKey'] as const) {
      keyBytes(f, input[f]);
    }
    const boxPk = keyBytes('boxPk', input.boxPk);
    const signPk = keyBytes('signPk', input.signPk);
    const recoveryAuthPk = keyBytes('recoveryAuthPk', input.recoveryAuthPk);
    const sig = keyBytes('selfSignature', input.selfSignature);
    if (!verifySelfSignature(signPk, sig, inv.user_id, boxPk, recoveryAuthPk)) {
      throw new Validation('The identity signature does not match the keys. Please start the registration again.', 'bad_signature');
    }
    const totp = this.sessionTotp(inv, kept);
    const step = await checkTotp(totp.secret, input.totpCode.trim(), 0);
    if (step === null) {
      throw new Validation('That code is not right. Check the time on your phone and enter the newest code.', 'bad_totp');
    }

    const now = Date.now();
    const row: UserRow = {
      id: inv.user_id,
      username,
      is_admin: Boolean(inv.is_admin),
      disabled_at: null,
      kdf_alg: KDF_ALG,
      kdf_ops: inv.kdf_ops,
      kdf_mem: inv.kdf_mem,
      kdf_salt: inv.kdf_salt,
      auth_hash: this.crypto.authHash(authKey),
      account_key_wrapped: this.crypto.serverWrap(inv.user_id, input.passwordWrappedAccountKey),
      enc_private_keys: input.encPrivateKeys,
      box_pk: input.boxPk,
      sign_pk: input.signPk,
      recovery_wrapped_account_key: input.recoveryWrappedAccountKey,
      recovery_auth_pk: input.recoveryAuthPk,
      self_signature: input.selfSignature,
      totp_secret: totp.wrapped,
      totp_last_step: step,
      created_at: now,
      password_changed_at: now,
    };
    await this.db.transaction(async (trx) => {
      if (await users.byUsername(trx, username)) throw this.taken();
      if (!(await invitations.claim(trx, inv.id, now))) {
        throw new Gone('This invitation has already been used.', 'invite_used');
      }
      await users.insert(trx, row);
    });
    await this.audit.record('registered', row.id, origin);
    return publicUser(row);
  }
}

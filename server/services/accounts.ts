import { z } from 'zod';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { users, type UserRow } from '../db/users.js';
import { sessions } from '../db/sessions.js';
import { LoginFailed, Validation } from '../errors.js';
import { checkTotp, newTotpSecret, totpIssuer, totpQrSvg, totpUri } from '../auth/totp.js';
import type { ServerCrypto } from '../auth/serverCrypto.js';
// StoredKeys: what a client needs, after both login steps or an unlock, to open the vault
import { checkKdfParams, KDF_ALG, type KdfParams, type StoredKeys } from '../../client/crypto/index.js';
import type { AuditService, Origin } from './audit.js';
import type { Attempt, RateLimits } from './rateLimits.js';
import { keyBytes, normaliseUsername } from './registration.js';


export const kdfSchema = z.object({
  alg: z.literal(KDF_ALG),
  ops: z.number().int(),
  mem: z.number().int(),
  salt: z.string().max(64),
});

export const changePasswordSchema = z.object({
  currentAuthKey: z.string().max(200),
  newAuthKey: z.string().max(200),
  newKdf: kdfSchema,
  newPasswordWrappedAccountKey: z.string().max(400),
});
export type ChangePasswordInput = z.infer<typeof changePasswordSchema>;

/** After this many wrong codes the half-done login is dropped (flows.md "Login"). */
export const MAX_TOTP_FAILURES = 5;

export class AccountService {
  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly crypto: ServerCrypto,
    private readonly audit: AuditService,
    private readonly limits: RateLimits,
  ) {}

  /** Keeps a failed attempt counted; tells the owner once when it used up a limit on their account. */
  private async countFailure(attempt: Attempt, userId: string | null, origin: Origin): Promise<void> {
    if ((await attempt.failed()) && userId) {
      await this.audit.record('rate_limited', userId, origin);
    }
  }

  private kdfOf(row: UserRow): KdfParams {
    return { alg: KDF_ALG, ops: row.kdf_ops, mem: row.kdf_mem, salt: row.kdf_salt };
  }

  /**
   * KDF parameters for a username; made-up but stable ones for names nobody has (no enumeration). A disabled
   * account keeps its real answer: switching to a made-up one and back would tell that the name exists.
   */
  async prelogin(rawUsername: string, origin: Origin): Promise<KdfParams> {
    await this.limits.lookup(origin.ip);
    const username = normaliseUsername(rawUsername);
    // both queries for every name, so a real name does not answer measurably faster than a made-up one
    const [row, costs] = await Promise.all([users.byUsername(this.db, username), users.kdfCosts(this.db)]);
    if (row) return this.kdfOf(row);
    const cost = this.fakeCost(username, costs);
    return { alg: KDF_ALG, ops: cost.ops, mem: cost.mem, salt: this.crypto.fakeSalt(username) };
  }

  /**
   * The cost a made-up answer shows: one that real accounts use, so a change of the configured default does
   * not split old accounts from unknown names (format.md §5, "Fake salt"). Weighted by how many accounts use
   * each, so a cost tells nothing about whether the name is real, and chosen by weighted rendezvous hashing of
   * the name, so a new account moves only a few names' answers, and only to its own cost.
   */
  private fakeCost(username: string, costs: { ops: number; mem: number; n: number }[]): { ops: number; mem: number } {
    let best: { ops: number; mem: number } = { ops: this.config.kdfOps, mem: this.config.kdfMemMiB * 1024 * 1024 };
    let bestScore = -Infinity;
    for (const c of costs) {
      // the largest of -weight / ln(u) wins with probability weight / total (u uniform in (0, 1])
      const u = this.crypto.fakeCostDraw(username, c.ops, c.mem);
      const score = u === 1 ? Infinity : -c.n / Math.log(u);
      if (score > bestScore) {
        bestScore = score;
        best = { ops: c.ops, mem: c.mem };
      }
    }
    return best;
  }

  /**
   * The password step. Returns the user, or null for every kind of failure (unknown name, wrong
   * password, disabled account), after counting it against the account name and the address.
   */
  async checkPassword(rawUsername: string, authKeyB64: string, origin: Origin): Promise<UserRow | null> {
    const username = normaliseUsername(rawUsername);
    const attempt = await this.limits.loginAttempt(username, origin.ip);
    let authKey: Uint8Array | null = null;
    try {
      authKey = keyBytes('authKey', authKeyB64);
    } catch {
      authKey = null;
    }
    const row = await users.byUsername(this.db, username);
    // compare even when the user is unknown, so both paths cost the same
    const ok = authKey !== null && this.crypto.authMatches(authKey, row?.auth_hash ?? this.crypto.authHash(new Uint8Array(32)));
    if (row && ok && !row.disabled_at) {
      await attempt.succeeded();
      return row;
    }
    await this.countFailure(attempt, row?.id ?? null, origin);
    // a name nobody has may be a password typed into the wrong field: only a keyed hash of it is kept
    await this.audit.record('login_failed', row?.id ?? null, origin, row ? undefined : { nameTag: this.crypto.loginNameTag(username) });
    return null;
  }

  /** The code step. Throws LoginFailed on a wrong or reused code. */
  async checkTotp(userId: string, code: string, origin: Origin): Promise<UserRow> {
    const row = await users.byId(this.db, userId);
    if (!row || row.disabled_at || !row.totp_secret) throw new LoginFailed();
    const attempt = await this.limits.loginAttempt(row.username, origin.ip);
    const secret = this.crypto.unwrapTotp(row.id, row.totp_secret);
    const step = await checkTotp(secret, code.trim(), Number(row.totp_last_step));
    if (step !== null && (await users.claimTotpStep(this.db, row.id, step))) {
      await this.loggedIn(attempt, row, origin);
      return row;
    }

    const replay = step === null && (await checkTotp(secret, code.trim(), 0)) !== null;
    const lostRace = step !== null; // a parallel request claimed the same step first
    await this.countFailure(attempt, row.id, origin);
    await this.audit.record(replay || lostRace ? 'totp_replay' : 'totp_failed', row.id, origin);
    throw new LoginFailed();
  }

  /**
   * After `heirloom-admin user reset-mfa` the account has no authenticator secret. The password step then
   * hands out a new one, kept (wrapped with the server's TOTP key) in the half-done login's session until a
   * code proves the person's app has it. Null when the account has a secret (the usual code step).
   */
  async startTotpEnrolment(userId: string): Promise<{ wrapped: string; totp: { secret: string; uri: string; qrSvg: string } } | null> {
    const row = await users.byId(this.db, userId);
    if (!row || row.disabled_at || row.totp_secret) return null;
    const secret = newTotpSecret();
    const uri = totpUri(secret, row.username, totpIssuer(this.config.baseUrl));
    return { wrapped: this.crypto.wrapTotp(row.id, secret), totp: { secret, uri, qrSvg: await totpQrSvg(uri) } };
  }

  /**
   * Stores the new secret only if the code is right (and the account still has none); then the login goes on
   * exactly like the code step. No key is touched: the password, the account key and its wraps stay as they are.
   */
  async enrollTotp(userId: string, wrappedSecret: string, code: string, origin: Origin): Promise<UserRow> {
    const row = await users.byId(this.db, userId);
    if (!row || row.disabled_at) throw new LoginFailed();
    if (row.totp_secret) {
      throw new LoginFailed('Two-step login is already set up again. Please start again with your password.', 'login_expired');
    }
    const attempt = await this.limits.loginAttempt(row.username, origin.ip);
    const secret = this.crypto.unwrapTotp(row.id, wrappedSecret);
    const step = await checkTotp(secret, code.trim(), Number(row.totp_last_step));
    if (step !== null && (await users.enrollTotp(this.db, row.id, wrappedSecret, step))) {
      await this.loggedIn(attempt, row, origin);
      await this.audit.record('totp_enrolled', row.id, origin);
      return { ...row, totp_secret: wrappedSecret, totp_last_step: step };
    }
    await this.countFailure(attempt, row.id, origin);
    await this.audit.record('totp_failed', row.id, origin);
    throw new LoginFailed('That code is not right. Check that the time on your phone is right and type the newest code.', 'bad_totp');
  }

  /** Both steps passed: the attempt is refunded and this address is known to the account from now on. */
  private async loggedIn(attempt: Attempt, row: UserRow, origin: Origin): Promise<void> {
    await attempt.succeeded();
    await this.limits.rememberClient(row.username, origin.ip);
  }

  async recordLoginSuccess(userId: string, origin: Origin): Promise<void> {
    await this.audit.record('login_success', userId, origin);
  }


  async vaultKeys(userId: string): Promise<StoredKeys> {
    const row = await users.byId(this.db, userId);
    if (!row) throw new LoginFailed();
    return {
      passwordWrappedAccountKey: this.crypto.serverUnwrap(row.id, row.account_key_wrapped),
      encPrivateKeys: row.enc_private_keys,
      boxPk: row.box_pk,
      signPk: row.sign_pk,
      recoveryAuthPk: row.recovery_auth_pk,
      selfSignature: row.self_signature,
    };
  }

  async kdfFor(userId: string): Promise<KdfParams> {
    const row = await users.byId(this.db, userId);
    if (!row) throw new LoginFailed();
    return this.kdfOf(row);
  }

  /**
   * Unlocking a locked tab: proves the password again before the wrapped key is handed out. Limited per
   * session and user, never by the login lockout, which a stranger can run into on purpose.
   */
  async unlock(userId: string, sessionId: string, authKeyB64: string, origin: Origin): Promise<StoredKeys> {
    const row = await users.byId(this.db, userId);
    if (!row) throw new LoginFailed();
    const attempt = await this.limits.sessionAttempt(row.id, sessionId);
    if (!this.passwordMatches(row, authKeyB64)) {
      await this.countFailure(attempt, row.id, origin);
      await this.audit.record('unlock_failed', row.id, origin);
      throw new LoginFailed('That password is not right.');
    }
    await attempt.succeeded();
    return this.vaultKeys(userId);
  }

  private passwordMatches(row: UserRow, authKeyB64: string): boolean {
    try {
      return this.crypto.authMatches(keyBytes('authKey', authKeyB64), row.auth_hash);
    } catch {
      return false;
    }
  }

  /**
   * Replaces the password wrap of the account key, and nothing else (crypto.md). Ends every other session
   * of the user; the caller renews the current one.
   */
  async changePassword(userId: string, currentSid: string, input: ChangePasswordInput, origin: Origin): Promise<void> {
    const row = await users.byId(this.db, userId);
    if (!row) throw new LoginFailed();
    const attempt = await this.limits.sessionAttempt(row.id, currentSid);
    if (!this.passwordMatches(row, input.currentAuthKey)) {
      await this.countFailure(attempt, row.id, origin);
      await this.audit.record('password_change_failed', row.id, origin);
      throw new LoginFailed('Your current password is not right.');
    }
    await attempt.succeeded();
    let kdf: KdfParams;
    try {
      kdf = checkKdfParams(input.newKdf);
    } catch (err) {
      // the crypto core's sentence says which rule failed: too weak, too large, or a malformed salt
      const why = err instanceof Error ? err.message : 'They are not valid.';
      throw new Validation(`The new password settings cannot be used. ${why}`, 'weak_kdf');
    }
    const newAuthKey = keyBytes('authKey', input.newAuthKey);
    keyBytes('passwordWrappedAccountKey', input.newPasswordWrappedAccountKey);
    await this.db.transaction(async (trx) => {
      await users.updatePassword(trx, userId, {
        kdf_ops: kdf.ops,
        kdf_mem: kdf.mem,
        kdf_salt: kdf.salt,
        auth_hash: this.crypto.authHash(newAuthKey),
        account_key_wrapped: this.crypto.serverWrap(userId, input.newPasswordWrappedAccountKey),
        password_changed_at: Date.now(),
      });
      await sessions.destroyForUser(trx, userId, currentSid);
    });
    await this.audit.record('password_changed', userId, origin);
  }
}

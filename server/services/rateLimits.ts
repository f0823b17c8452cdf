import type { Clock } from '../clock.js';
import type { Db } from '../db/connection.js';
import { loginLimits, type Increment, type LimitRow } from '../db/loginLimits.js';
import type { ServerCrypto } from '../auth/serverCrypto.js';
import { RateLimited } from '../errors.js';

/**
 * Brute-force limits (ASVS 6.3.1; security.md "Login limits" states the policy and its numbers). Counters
 * live in the database so a restart does not reset them.
 *
 * Login (password and code steps) counts each attempt against three counters:
 * - the account name together with the address: the tight limit, so a stranger elsewhere cannot use up
 *   the owner's attempts;
 * - the address, across all names;
 * - the account name alone: a looser cap, past which clients the account has not logged in from before get
 *   one attempt per back-off wait, doubling with each further failure. Clients the account logged in from
 *   are exempt from this one, so spreading guesses over many addresses cannot keep the owner out at home.
 * Inside a logged-in session (unlock, password change) the login counters are never used: a session and
 * its user have counters of their own.
 *
 * Each attempt is counted before it is checked, in one atomic statement, and refunded when it succeeds or is
 * refused without being checked: parallel requests cannot check more guesses than the limit.
 */
export interface RateLimitSettings {
  /** failed logins for one account name from one address per window */
  pairFailures: number;
  /** failed logins from one address per window, across account names */
  ipFailures: number;
  /** failed logins for one account name from all addresses per account window, before the back-off */
  accountFailures: number;
  accountWindowSeconds: number;
  /** the first back-off wait past the account cap; each further failure doubles it, up to the maximum */
  backoffSeconds: number;
  maxBackoffSeconds: number;
  /** pre-login look-ups from one address per window */
  ipLookups: number;
  windowSeconds: number;
  /** wrong passwords inside one logged-in session per window (unlock, password change) */
  sessionFailures: number;
  /** wrong passwords inside all sessions of one user per user window */
  userFailures: number;
  userWindowSeconds: number;
  /** how long a completed login makes its address known to the account */
  knownClientDays: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  pairFailures: 10,
  ipFailures: 30,
  accountFailures: 30,
  accountWindowSeconds: 60 * 60,
  backoffSeconds: 1,
  maxBackoffSeconds: 5 * 60,
  ipLookups: 100,
  windowSeconds: 15 * 60,
  sessionFailures: 5,
  userFailures: 20,
  userWindowSeconds: 24 * 60 * 60,
  knownClientDays: 30,
};

/** An attempt that was counted and may now be checked; say how it went. */
export interface Attempt {
  /** refunds the attempt */
  succeeded(): Promise<void>;
  /** keeps it counted; true when this failure used up a limit (worth telling the owner once) */
  failed(): Promise<boolean>;
}

const SWEEP_EVERY_MS = 60_000;

export class RateLimits {
  private readonly s: RateLimitSettings;
  private lastSweep = 0;

  constructor(
    private readonly db: Db,
    private readonly crypto: ServerCrypto,
    private readonly clock: Clock,
    settings: Partial<RateLimitSettings> = {},
  ) {
    this.s = { ...DEFAULT_RATE_LIMITS, ...settings };
  }

  /** Counts a login step (password, code, or enrolment code) for `username` from `ip`; throws RateLimited. */
  async loginAttempt(username: string, ip: string | null): Promise<Attempt> {
    const now = await this.start();
    const address = ip ?? 'unknown';
    const pair = this.key('pair', username, address);
    const byIp = this.key('ip', address);
    const account = this.key('account', username);
    const rows = await this.count(now, [
      { key: pair, resetAt: now + this.s.windowSeconds * 1000 },
      { key: byIp, resetAt: now + this.s.windowSeconds * 1000 },
      { key: account, resetAt: now + this.s.accountWindowSeconds * 1000 },
    ]);
    const keys = [pair, byIp, account];
    const refuse = async (retryMs: number): Promise<never> => {
      await loginLimits.refund(this.db, keys);
      throw new RateLimited(retryMs / 1000);
    };
    const p = rows.get(pair);
    const i = rows.get(byIp);
    const a = rows.get(account);
    if (!p || !i || !a) throw new Error('login limit counters missing after counting');
    if (p.count > this.s.pairFailures) await refuse(p.reset_at - now);
    if (i.count > this.s.ipFailures) await refuse(i.reset_at - now);

    let claimed = false;
    if (!(await loginLimits.isMarked(this.db, this.key('known', username, address), now))) {
      if (a.blocked_until > now) await refuse(a.blocked_until - now);
      if (a.count > this.s.accountFailures) {
        // past the cap: this attempt takes the next slot and sets the wait before the one after it
        const past = a.count - this.s.accountFailures;
        const waitMs = Math.min(this.s.backoffSeconds * 1000 * 2 ** (past - 1), this.s.maxBackoffSeconds * 1000);
        claimed = await loginLimits.claim(this.db, account, now, now + waitMs);
        if (!claimed) {
          const row = await loginLimits.get(this.db, account);
          await refuse(Math.max(1000, Number(row?.blocked_until ?? 0) - now));
        }
      }
    }
    return {
      succeeded: async () => {
        await loginLimits.refund(this.db, keys);
        if (claimed) await loginLimits.unblock(this.db, account);
      },
      failed: async () => p.count === this.s.pairFailures || a.count === this.s.accountFailures,
    };
  }

  /** Both login steps passed from this address: the account's cap and back-off no longer apply to it. */
  async rememberClient(username: string, ip: string | null): Promise<void> {
    const until = this.clock.now() + this.s.knownClientDays * 24 * 3600_000;
    await loginLimits.mark(this.db, this.key('known', username, ip ?? 'unknown'), until);
  }

  /** A wrong password inside a logged-in session (unlock, password change); never the login counters. */
  async sessionAttempt(userId: string, sessionId: string): Promise<Attempt> {
    const now = await this.start();
    const session = this.key('session', userId, sessionId);
    const user = this.key('user', userId);
    const rows = await this.count(now, [
      { key: session, resetAt: now + this.s.windowSeconds * 1000 },
      { key: user, resetAt: now + this.s.userWindowSeconds * 1000 },
    ]);
    const s = rows.get(session);
    const u = rows.get(user);
    if (!s || !u) throw new Error('session limit counters missing after counting');
    const over = [s.count > this.s.sessionFailures ? s : null, u.count > this.s.userFailures ? u : null].filter((r) => r !== null);
    if (over.length > 0) {
      await loginLimits.refund(this.db, [session, user]);
      throw new RateLimited(Math.max(...over.map((r) => r.reset_at - now)) / 1000);
    }
    return {
      succeeded: async () => {
        await loginLimits.refund(this.db, [session, user]);
      },
      failed: async () => s.count === this.s.sessionFailures || u.count === this.s.userFailures,
    };
  }

  /** Pre-login look-ups per address; each one counts. */
  async lookup(ip: string | null): Promise<void> {
    const now = await this.start();
    const key = this.key('lookup', ip ?? 'unknown');
    const row = (await this.count(now, [{ key, resetAt: now + this.s.windowSeconds * 1000 }])).get(key);
    if (row && row.count > this.s.ipLookups) throw new RateLimited((row.reset_at - now) / 1000);
  }

  private key(...parts: string[]): string {
    return this.crypto.limitKey(parts);
  }

  private async count(now: number, keys: Increment[]): Promise<Map<string, LimitRow>> {
    const rows = await loginLimits.increment(this.db, now, keys);
    return new Map(rows.map((r) => [r.key, r]));
  }

  /** The time of this attempt; now and then, spent counters go (housekeeping, not a limit). */
  private async start(): Promise<number> {
    const now = this.clock.now();
    if (now - this.lastSweep > SWEEP_EVERY_MS || now < this.lastSweep) {
      this.lastSweep = now;
      await loginLimits.sweep(this.db, now);
    }
    return now;
  }
}

import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimited } from '../errors.js';

/**
 * Brute-force limits (ASVS 6.3.1). Failures are counted; a key that used up its points gets 429 until the
 * window passes. One process serves a family, so counters live in memory.
 */
export interface RateLimitSettings {
  /** failed logins (password or code) per account name per window */
  accountFailures: number;
  /** failed logins from one address per window, across accounts */
  ipFailures: number;
  /** pre-login look-ups from one address per window */
  ipLookups: number;
  windowSeconds: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  accountFailures: 10,
  ipFailures: 30,
  ipLookups: 100,
  windowSeconds: 15 * 60,
};

export class RateLimits {
  private readonly account: RateLimiterMemory;
  private readonly ip: RateLimiterMemory;
  private readonly lookups: RateLimiterMemory;

  private readonly accountPoints: number;

  constructor(settings: RateLimitSettings = DEFAULT_RATE_LIMITS) {
    this.accountPoints = settings.accountFailures;
    this.account = new RateLimiterMemory({ keyPrefix: 'acct', points: settings.accountFailures, duration: settings.windowSeconds });
    this.ip = new RateLimiterMemory({ keyPrefix: 'ip', points: settings.ipFailures, duration: settings.windowSeconds });
    this.lookups = new RateLimiterMemory({ keyPrefix: 'look', points: settings.ipLookups, duration: settings.windowSeconds });
  }

  /** Throws RateLimited when either the account or the address has no attempts left. */
  async checkLogin(accountKey: string, ip: string | null): Promise<void> {
    for (const [limiter, key] of [
      [this.account, accountKey],
      [this.ip, ip ?? 'unknown'],
    ] as const) {
      const res = await limiter.get(key);
      if (res && res.remainingPoints <= 0) throw new RateLimited(res.msBeforeNext / 1000);
    }
  }

  /** Counts a failure; true when it used up the account's last attempt (worth telling its owner). */
  async failedLogin(accountKey: string, ip: string | null): Promise<boolean> {
    const [account] = await Promise.all([swallow(this.account.consume(accountKey)), swallow(this.ip.consume(ip ?? 'unknown'))]);
    return account?.remainingPoints === 0 && account.consumedPoints === this.accountPoints;
  }

  async lookup(ip: string | null): Promise<void> {
    try {
      await this.lookups.consume(ip ?? 'unknown');
    } catch (res) {
      if (res instanceof RateLimiterRes) throw new RateLimited(res.msBeforeNext / 1000);
      throw res;
    }
  }
}

/** consume() rejects once the points are gone; for counting failures that is expected, not an error. */
async function swallow(p: Promise<RateLimiterRes>): Promise<RateLimiterRes | null> {
  try {
    return await p;
  } catch (res) {
    if (!(res instanceof RateLimiterRes)) throw res;
    return null;
  }
}

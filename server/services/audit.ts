import type { Db } from '../db/connection.js';
import { audit } from '../db/audit.js';

/** Where a request came from, as services need it (they never see req). */
export interface Origin {
  ip: string | null;
  userAgent: string | null;
}

export const AUDIT_EVENTS = [
  'registered',
  'login_success',
  'login_failed',
  'totp_failed',
  'totp_replay',
  'login_expired',
  'rate_limited',
  'unlock_failed',
  'password_changed',
  'password_change_failed',
  'session_ended',
  'logout',
  // by the family's admin (heirloom-admin), so the person sees it in their security log
  'mfa_reset',
  'account_disabled',
  'account_enabled',
  'totp_enrolled',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export interface AuditEntry {
  event: AuditEvent;
  createdAt: string;
  ip: string | null;
  userAgent: string | null;
}

export class AuditService {
  constructor(private readonly db: Db) {}

  async record(event: AuditEvent, userId: string | null, origin: Origin, detail?: Record<string, unknown>): Promise<void> {
    await audit.insert(this.db, {
      user_id: userId,
      event,
      ip: origin.ip?.slice(0, 64) ?? null,
      user_agent: origin.userAgent?.slice(0, 256) ?? null,
      detail: detail ? JSON.stringify(detail) : null,
      created_at: Date.now(),
    });
  }

  async forUser(userId: string, limit = 50): Promise<AuditEntry[]> {
    const rows = await audit.forUser(this.db, userId, limit);
    return rows.map((r) => ({
      event: r.event as AuditEvent,
      createdAt: new Date(Number(r.created_at)).toISOString(),
      ip: r.ip,
      userAgent: r.user_agent,
    }));
  }
}

import type { Db } from '../db/connection.js';
import { audit } from '../db/audit.js';

/** Where a request came from, as services need it (they never see req). */
export interface Origin {
  ip: string | null;
  userAgent: string | null;
}

/**
 * The origin recorded in the OTHER person's log when someone shares with them, adds or removes them: the
 * entry says who did it, never that person's IP address or browser.
 */
export const SOMEONE_ELSE: Origin = { ip: null, userAgent: null };

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
  // sharing (issue 9): both people get an entry; detail names the other person and how many documents
  'document_shared',
  'share_revoked',
  'space_created',
  'space_renamed',
  'space_member_added',
  'space_member_removed',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export interface AuditEntry {
  event: AuditEvent;
  createdAt: string;
  ip: string | null;
  userAgent: string | null;
  /** for sharing events: the other person's username, how many documents, and whether this person acted */
  username?: string;
  documents?: number;
  outgoing?: boolean;
}

/** Events whose detail the security log shows: who the other person was. */
const SHOWN_DETAIL = new Set<string>(['document_shared', 'share_revoked', 'space_member_added', 'space_member_removed']);

function shownDetail(event: string, detail: string | null): Pick<AuditEntry, 'username' | 'documents' | 'outgoing'> {
  if (!SHOWN_DETAIL.has(event) || !detail) return {};
  try {
    const d = JSON.parse(detail) as { username?: unknown; documents?: unknown; outgoing?: unknown };
    return {
      ...(typeof d.username === 'string' ? { username: d.username } : {}),
      ...(typeof d.documents === 'number' ? { documents: d.documents } : {}),
      ...(typeof d.outgoing === 'boolean' ? { outgoing: d.outgoing } : {}),
    };
  } catch {
    return {};
  }
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
      ...shownDetail(r.event, r.detail),
    }));
  }
}

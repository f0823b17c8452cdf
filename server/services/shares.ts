import { z } from 'zod';
import type { Db } from '../db/connection.js';
import { documents } from '../db/documents.js';
import { grants, type GrantRow } from '../db/grants.js';
import { users } from '../db/users.js';
import { NotFound, Validation } from '../errors.js';
import { SEALED_KEY_BYTES, fromB64, isUuid, verifyGrantSignature } from '../../client/crypto/index.js';
import { SOMEONE_ELSE, type AuditService, type Origin } from './audit.js';
import { checkKeyWrap, documentId, type DocumentService } from './documents.js';
import { b64Field } from './fields.js';

/** How many grants one request may carry (docs/api.md "Sharing documents"). */
export const MAX_GRANTS = 1000;

export const grantsSchema = z.object({
  grants: z
    .array(
      z.object({
        documentId: z.string().max(64),
        recipientId: z.string().max(64),
        sealed: z.string().min(1).max(200),
        sig: z.string().min(1).max(200),
      }),
    )
    .min(1)
    .max(MAX_GRANTS),
});

/**
 * POST /api/grants/accept: the recipient's own wraps of document keys shared with them, made by their browser
 * after it checked each grant's signature (docs/api.md "Sharing documents").
 */
export const acceptSchema = z.object({
  accepted: z
    .array(z.object({ documentId: z.string().max(64), keyWrap: z.string().min(1).max(200) }))
    .min(1)
    .max(MAX_GRANTS),
});

export interface GrantListEntry {
  recipientId: string;
  username: string;
  createdAt: number;
}

const badRecipient = () => new Validation('You can share only with another member of this Heirloom whose account is active.', 'bad_recipient');

/**
 * Grants: one document's key sealed to one person and signed by its owner (crypto.md "Sharing and spaces").
 * Only the owner shares or revokes; a revoked grant stops working with the next request, since every read
 * asks the database (services/documents.ts `readable`).
 */
export class ShareService {
  constructor(
    private readonly db: Db,
    private readonly docs: DocumentService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Shares documents, all of them or none. Every grant must be signed by the caller: the server refuses to
   * store (and later hand out) a sealed key its signer did not make.
   */
  async grant(userId: string, input: z.infer<typeof grantsSchema>, origin: Origin): Promise<number> {
    const sharer = await users.byId(this.db, userId);
    if (!sharer) throw badRecipient();
    const docIds = [...new Set(input.grants.map((g) => g.documentId))];
    for (const id of docIds) documentId(id);
    if ((await documents.liveOwnedIds(this.db, userId, docIds)).length !== docIds.length) {
      throw new NotFound('One of these documents does not exist, is not yours, or is in the trash.', 'document_not_found');
    }
    const recipientIds = [...new Set(input.grants.map((g) => g.recipientId))];
    if (recipientIds.some((id) => !isUuid(id) || id === userId)) throw badRecipient();
    const people = await grants.recipients(this.db, recipientIds);
    if (people.length !== recipientIds.length || people.some((p) => p.disabled_at)) throw badRecipient();
    const signPk = fromB64(sharer.sign_pk);
    const now = Date.now();
    const rows: GrantRow[] = input.grants.map((g) => {
      const sealed = b64Field(g.sealed, 'A sealed document key', 'bad_grant');
      if (sealed.length !== SEALED_KEY_BYTES) throw new Validation(`A sealed document key must be ${SEALED_KEY_BYTES} bytes.`, 'bad_grant');
      const sig = b64Field(g.sig, 'A grant’s signature', 'bad_signature');
      if (!verifyGrantSignature(signPk, sig, g.documentId, g.recipientId, sealed)) {
        throw new Validation('A grant does not carry your valid signature for this document and person.', 'bad_signature');
      }
      return { document_id: g.documentId, recipient_id: g.recipientId, sharer_id: userId, sealed: g.sealed, sig: g.sig, created_at: now, recipient_wrap: null };
    });
    await this.db.transaction((trx) => grants.upsert(trx, rows));
    // one entry per person on each side, saying how many documents
    for (const person of people) {
      const n = new Set(rows.filter((r) => r.recipient_id === person.id).map((r) => r.document_id)).size;
      await this.audit.record('document_shared', userId, origin, { username: person.username, documents: n, outgoing: true });
      await this.audit.record('document_shared', person.id, SOMEONE_ELSE, { username: sharer.username, documents: n, outgoing: false });
    }
    return rows.length;
  }

  /**
   * Stores the caller's own wraps of documents shared with them, all or none. The server cannot check what is
   * inside (it has no account key); it checks the shape, and that each grant is to the caller. The wrap's
   * associated data names the document and the reader, so it opens for no other document and no other person.
   */
  async accept(userId: string, input: z.infer<typeof acceptSchema>): Promise<number> {
    const missing = () => new NotFound('One of these documents is not shared with you.', 'grant_not_found');
    const byDoc = new Map<string, string>();
    for (const a of input.accepted) {
      if (!isUuid(a.documentId)) throw missing();
      checkKeyWrap(a.keyWrap, 'A document’s key');
      byDoc.set(a.documentId, a.keyWrap); // the same document twice: the last wrap counts
    }
    const wraps = [...byDoc].map(([documentId, keyWrap]) => ({ documentId, keyWrap }));
    await this.db.transaction(async (trx) => {
      if ((await grants.accept(trx, userId, wraps)) !== wraps.length) throw missing();
    });
    return wraps.length;
  }

  /** Who one of the caller's documents is shared with. */
  async list(userId: string, rawId: unknown): Promise<GrantListEntry[]> {
    const doc = await this.docs.owned(userId, rawId);
    return (await grants.ofDocument(this.db, doc.id)).map((g) => ({ recipientId: g.recipient_id, username: g.username, createdAt: Number(g.created_at) }));
  }

  /** Ends one person's access to one of the caller's documents, from their next request on. */
  async revoke(userId: string, rawId: unknown, rawRecipientId: unknown, origin: Origin): Promise<void> {
    const doc = await this.docs.owned(userId, rawId);
    const missing = new NotFound('This document is not shared with this person.', 'grant_not_found');
    if (!isUuid(rawRecipientId)) throw missing;
    if ((await grants.remove(this.db, doc.id, rawRecipientId)) !== 1) throw missing;
    const [sharer, recipient] = await Promise.all([users.byId(this.db, userId), users.byId(this.db, rawRecipientId)]);
    await this.audit.record('share_revoked', userId, origin, { username: recipient?.username ?? null, documents: 1, outgoing: true });
    await this.audit.record('share_revoked', rawRecipientId, SOMEONE_ELSE, { username: sharer?.username ?? null, documents: 1, outgoing: false });
  }
}

/**
 * The offline rescue (flows.md "Offline rescue"): with no server running, open one person's account from a
 * data folder or a backup folder and decrypt every document they own into a folder, under the original
 * names. Uses only the crypto core, better-sqlite3 (read-only) and plain files: the proof that a family's
 * documents outlive the software. docs/format.md describes the same steps for anyone writing their own.
 */
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BlobDecryptor,
  checkKdfParams,
  constantTimeEqual,
  deriveRecoveryKeys,
  derivePasswordKeys,
  deriveServerKeys,
  fromB64,
  isCryptoError,
  isUuid,
  memzero,
  openAccountWithAccountKey,
  openDocMeta,
  ready,
  serverUnwrap,
  unwrapAccountKeyWithPassword,
  unwrapAccountKeyWithRecovery,
  unwrapDocKeyForOwner,
  wipeUnlockedKeys,
  wordsToRecoveryKey,
  type DocMeta,
} from '../client/crypto/index.js';
import { openDbReadOnly, type Db } from '../server/db/connection.js';
import type { UserRow as FullUserRow } from '../server/db/users.js';
import type { DocumentRow as FullDocumentRow } from '../server/db/documents.js';
import { readServerKey, ServerKeyError } from '../server/storage/serverKey.js';

/** Something stopped the rescue before anything was written. */
export class RescueError extends Error {}

export interface RescueOptions {
  /** a data folder or a backup folder: heirloom.sqlite and blobs/ */
  dataDir: string;
  username: string;
  words?: string;
  password?: string;
  /** for the password path; default DATA/secrets/server.key */
  serverKeyFile?: string;
  outDir: string;
  /** called after each document, for progress lines */
  onDocument?: (d: RescuedDocument) => void;
  /** called just before the (slow, on purpose) password derivation starts */
  onDeriving?: () => void;
}

export interface RescuedDocument {
  id: string;
  /** the name as stored (null when even the metadata could not be opened) */
  name: string | null;
  /** where it was written, relative to the output folder; null when damaged */
  file: string | null;
  size: number;
  inTrash: boolean;
  /** why it could not be decrypted */
  damaged?: string;
}

export interface RescueSummary {
  username: string;
  outDir: string;
  documents: number;
  inTrash: number;
  bytes: number;
  damaged: RescuedDocument[];
  rescued: RescuedDocument[];
}

/** The columns rescue reads: the tables' own row types (docs/format.md §6), narrowed. */
type UserRow = Pick<
  FullUserRow,
  | 'id'
  | 'username'
  | 'kdf_alg'
  | 'kdf_ops'
  | 'kdf_mem'
  | 'kdf_salt'
  | 'account_key_wrapped'
  | 'enc_private_keys'
  | 'box_pk'
  | 'sign_pk'
  | 'recovery_wrapped_account_key'
  | 'recovery_auth_pk'
  | 'self_signature'
>;
type DocumentRow = Pick<FullDocumentRow, 'id' | 'meta' | 'key_wrap' | 'deleted_at'>;

export const TRASH_FOLDER = 'Trash';
/** Keeps names within what every common file system takes (255 bytes), with room for " (12)". */
const MAX_NAME_BYTES = 200;

/**
 * A stored name made safe as one file name: no path separators, no control characters, none of the
 * characters Windows refuses, not "." or "..", not empty, not too long (the extension is kept).
 */
export function safeFileName(name: string): string {
  let s = name
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f/\\<>:"|?*]/g, '_')
    .trim();
  s = s.replace(/^\.+$/, '');
  if (s.startsWith('.')) s = `_${s.slice(1)}`; // no hidden files, and nothing that could read as ".."
  s = s.replace(/[. ]+$/, ''); // Windows drops trailing dots and spaces
  if (s === '') s = 'document';
  if (Buffer.byteLength(s) > MAX_NAME_BYTES) {
    const ext = /\.[^.]{1,16}$/.exec(s)?.[0] ?? '';
    let stem = s.slice(0, s.length - ext.length);
    while (Buffer.byteLength(stem + ext) > MAX_NAME_BYTES) stem = Array.from(stem).slice(0, -1).join('');
    s = stem + ext;
  }
  return s;
}

/** "name.ext", then "name (2).ext", "name (3).ext"…; compared without case, for case-insensitive disks. */
export function uniqueName(name: string, taken: Set<string>): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  let candidate = name;
  for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${ext}`;
  taken.add(candidate.toLowerCase());
  return candidate;
}

const normaliseUsername = (raw: string) => raw.normalize('NFKC').trim().toLowerCase();

/**
 * Opens the database read-only. A data folder's database is in WAL mode, which SQLite cannot open on
 * read-only media (a disk from a dead server mounted read-only): then a private copy is read instead.
 * Backups are in rollback-journal mode and open anywhere.
 */
async function openDatabase(dataDir: string): Promise<{ db: Db; done: () => Promise<void> }> {
  const file = path.join(dataDir, 'heirloom.sqlite');
  const unreadable = new RescueError(`There is no readable heirloom.sqlite in ${dataDir}. Give a Heirloom data folder or a backup folder with --data.`);
  try {
    await fs.access(file);
  } catch {
    throw unreadable;
  }
  const tryOpen = async (f: string): Promise<Db | null> => {
    const db = openDbReadOnly(f);
    try {
      await db.raw('SELECT count(*) FROM users');
      return db;
    } catch {
      await db.destroy();
      return null;
    }
  };
  const direct = await tryOpen(file);
  if (direct) return { db: direct, done: () => direct.destroy() };
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'heirloom-rescue-'));
  const remove = () => fs.rm(tmp, { recursive: true, force: true });
  try {
    await fs.copyFile(file, path.join(tmp, 'heirloom.sqlite'));
    await fs.copyFile(`${file}-wal`, path.join(tmp, 'heirloom.sqlite-wal')).catch(() => undefined);
  } catch {
    await remove();
    throw unreadable;
  }
  const copy = await tryOpen(path.join(tmp, 'heirloom.sqlite'));
  if (!copy) {
    await remove();
    throw unreadable;
  }
  return {
    db: copy,
    done: async () => {
      await copy.destroy();
      await remove();
    },
  };
}

async function checkOutDir(outDir: string): Promise<void> {
  try {
    const names = await fs.readdir(outDir);
    if (names.length > 0) throw new RescueError(`The output folder ${outDir} is not empty. Give a new or empty folder with --out.`);
  } catch (err) {
    if (err instanceof RescueError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new RescueError(`${outDir} is a file, not a folder.`);
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** The account key from the 24 words (no server key needed): docs/format.md §7. */
function accountKeyFromWords(user: UserRow, words: string): Uint8Array {
  let recoveryKey: Uint8Array;
  try {
    recoveryKey = wordsToRecoveryKey(words);
  } catch (err) {
    throw new RescueError(isCryptoError(err) ? err.message : 'These words are not a valid recovery key.');
  }
  const { recoveryWrapKey, recoveryAuthKeyPair } = deriveRecoveryKeys(recoveryKey);
  memzero(recoveryKey);
  memzero(recoveryAuthKeyPair.privateKey);
  const notTheirs = new RescueError(
    `These recovery words do not belong to ${user.username}'s account (are they another family member's?).`,
  );
  try {
    if (!constantTimeEqual(recoveryAuthKeyPair.publicKey, fromB64(user.recovery_auth_pk))) throw notTheirs;
    return unwrapAccountKeyWithRecovery(recoveryWrapKey, fromB64(user.recovery_wrapped_account_key), user.id);
  } catch (err) {
    if (err instanceof RescueError) throw err;
    throw notTheirs;
  } finally {
    memzero(recoveryWrapKey);
  }
}

/** The account key from the password and the server key: docs/format.md §8. */
function accountKeyFromPassword(user: UserRow, password: string, serverKeyFile: string, onDeriving?: () => void): Uint8Array {
  let serverKey: Uint8Array;
  try {
    serverKey = readServerKey(serverKeyFile);
  } catch (err) {
    if (!(err instanceof ServerKeyError)) throw err;
    throw new RescueError(`${err.message} The password path needs the server's key: give it with --server-key FILE, or use --words.`);
  }
  let passwordWrapped: Uint8Array;
  const { wrapKey } = deriveServerKeys(serverKey);
  memzero(serverKey);
  try {
    passwordWrapped = serverUnwrap(wrapKey, user.id, fromB64(user.account_key_wrapped));
  } catch {
    throw new RescueError(`The server key ${serverKeyFile} is not the key of the server this database comes from.`);
  } finally {
    memzero(wrapKey);
  }
  let kdf;
  try {
    kdf = checkKdfParams({ alg: user.kdf_alg, ops: Number(user.kdf_ops), mem: Number(user.kdf_mem), salt: user.kdf_salt });
  } catch (err) {
    throw new RescueError(`The password settings stored for ${user.username} are not usable: ${(err as Error).message}`);
  }
  onDeriving?.();
  const { authKey, passwordKek } = derivePasswordKeys(password, kdf);
  memzero(authKey);
  try {
    return unwrapAccountKeyWithPassword(passwordKek, passwordWrapped, user.id);
  } catch {
    throw new RescueError(`That password is not right for ${user.username}.`);
  } finally {
    memzero(passwordKek);
  }
}

/** Streams one blob through the decryptor into `tmp`; returns the plaintext length. */
async function decryptTo(blobFile: string, tmp: string, docKey: Uint8Array, id: string): Promise<number> {
  const dec = new BlobDecryptor(docKey, id);
  const out = await fs.open(tmp, 'wx', 0o600);
  let written = 0;
  try {
    const write = async (parts: Uint8Array[]) => {
      for (const p of parts) {
        await out.write(p);
        written += p.length;
      }
    };
    try {
      for await (const chunk of createReadStream(blobFile, { highWaterMark: 1024 * 1024 })) {
        const b = chunk as Buffer;
        await write(dec.push(new Uint8Array(b.buffer, b.byteOffset, b.length)));
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`its encrypted file is missing (${path.basename(path.dirname(blobFile))}/${id}).`);
      throw err;
    }
    await write(dec.finish());
    await out.sync();
  } finally {
    await out.close();
  }
  return written;
}

export async function rescue(opts: RescueOptions): Promise<RescueSummary> {
  await ready();
  if (opts.words === undefined && opts.password === undefined) throw new RescueError('Give either the recovery words (--words) or the password (--password).');
  if (opts.words !== undefined && opts.password !== undefined) throw new RescueError('Give either --words or --password, not both.');
  const dataDir = path.resolve(opts.dataDir);
  const outDir = path.resolve(opts.outDir);
  await checkOutDir(outDir);

  const { db, done } = await openDatabase(dataDir);
  let user: UserRow | undefined;
  let docs: DocumentRow[];
  try {
    user = (await db('users').where({ username: normaliseUsername(opts.username) }).first()) as UserRow | undefined;
    if (!user) throw new RescueError(`There is no account named “${opts.username}” in ${dataDir}.`);
    docs = (await db('documents').where({ owner_id: user.id }).select('id', 'meta', 'key_wrap', 'deleted_at').orderBy(['created_at', 'id'])) as DocumentRow[];
  } finally {
    await done();
  }
  if (!isUuid(user.id)) throw new RescueError(`The account row of ${user.username} is damaged (its ID is not a UUID).`);

  const accountKey =
    opts.words !== undefined
      ? accountKeyFromWords(user, opts.words)
      : accountKeyFromPassword(user, opts.password as string, path.resolve(opts.serverKeyFile ?? path.join(dataDir, 'secrets', 'server.key')), opts.onDeriving);
  let keys;
  try {
    // checks the self-signature, and that the private keys belong to the signed public keys
    keys = openAccountWithAccountKey(accountKey, user.id, {
      encPrivateKeys: user.enc_private_keys,
      boxPk: user.box_pk,
      signPk: user.sign_pk,
      recoveryAuthPk: user.recovery_auth_pk,
      selfSignature: user.self_signature,
    });
  } catch (err) {
    memzero(accountKey);
    throw new RescueError(`The keys of ${user.username} in this database cannot be trusted: ${(err as Error).message}`);
  }

  // the key opened: only now does anything get written
  await fs.mkdir(outDir, { recursive: true, mode: 0o700 });
  const summary: RescueSummary = { username: user.username, outDir, documents: 0, inTrash: 0, bytes: 0, damaged: [], rescued: [] };
  const taken = { live: new Set<string>(docs.some((d) => d.deleted_at !== null) ? [TRASH_FOLDER.toLowerCase()] : []), trash: new Set<string>() };
  try {
    for (const doc of docs) {
      const inTrash = doc.deleted_at !== null;
      const result: RescuedDocument = { id: doc.id, name: null, file: null, size: 0, inTrash };
      const folder = inTrash ? path.join(outDir, TRASH_FOLDER) : outDir;
      const tmp = path.join(folder, `.heirloom-rescue-${doc.id}.part`);
      try {
        if (!isUuid(doc.id)) throw new Error('its ID is not a document ID.');
        const docKey = unwrapDocKeyForOwner(keys.accountKey, fromB64(doc.key_wrap), doc.id, user.id);
        let meta: DocMeta;
        try {
          meta = openDocMeta(docKey, doc.id, fromB64(doc.meta));
          result.name = meta.name;
        } catch (err) {
          throw new Error(`its details (name, type) do not open: ${(err as Error).message}`);
        }
        await fs.mkdir(folder, { recursive: true, mode: 0o700 });
        const blobFile = path.join(dataDir, 'blobs', doc.id.slice(0, 2), doc.id);
        const written = await decryptTo(blobFile, tmp, docKey, doc.id);
        memzero(docKey);
        if (written !== meta.size) throw new Error(`it decrypted to ${written} bytes but its details say ${meta.size}.`);
        const name = uniqueName(safeFileName(meta.name), inTrash ? taken.trash : taken.live);
        const target = path.join(folder, name);
        await fs.rename(tmp, target);
        if (meta.modified > 0) await fs.utimes(target, new Date(), new Date(meta.modified)).catch(() => undefined);
        result.file = inTrash ? `${TRASH_FOLDER}/${name}` : name;
        result.size = written;
        summary.documents++;
        if (inTrash) summary.inTrash++;
        summary.bytes += written;
        summary.rescued.push(result);
      } catch (err) {
        await fs.rm(tmp, { force: true });
        result.damaged = isCryptoError(err) ? `the encrypted file does not decrypt: ${err.message}` : (err as Error).message;
        summary.damaged.push(result);
      }
      opts.onDocument?.(result);
    }
  } finally {
    wipeUnlockedKeys(keys);
  }
  return summary;
}

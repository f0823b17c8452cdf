/**
 * The offline rescue (flows.md "Offline rescue"): with no server running, open one person's account from a
 * data folder or a backup folder and decrypt every document they can read into a folder, under the original
 * names: their own, those in the spaces they belong to, and those shared with them (rescue-shared.ts).
 * Uses only the crypto core, better-sqlite3 (read-only) and plain files: the proof that a family's
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
  type UnlockedKeys,
} from '../client/crypto/index.js';
import { openDbReadOnly, type Db } from '../server/db/connection.js';
import type { UserRow as FullUserRow } from '../server/db/users.js';
import type { DocumentRow as FullDocumentRow } from '../server/db/documents.js';
import { readServerKey, ServerKeyError } from '../server/storage/serverKey.js';
import { NotTrustedError, readSharing, SharedKeys, type SharingRows } from './rescue-shared.js';

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

/** How the person came by a document: their own, added to one of their spaces by someone else, or shared with them. */
export type Provenance = 'own' | 'space' | 'shared';

export interface RescuedDocument {
  id: string;
  from: Provenance;
  /** who added it to the space, or who shared it (absent for the person's own) */
  by?: string;
  /** the name as stored (null when even the metadata could not be opened) */
  name: string | null;
  /** where it was written, relative to the output folder; null when damaged */
  file: string | null;
  size: number;
  inTrash: boolean;
  /** why it could not be decrypted */
  damaged?: string;
  /** why the key it came with was refused (docs/rescue.md "…whose keys are trusted"); nothing of it was opened */
  notTrusted?: string;
}

export interface RescueSummary {
  username: string;
  outDir: string;
  /** every document written; own + space + shared */
  documents: number;
  own: number;
  space: number;
  shared: number;
  inTrash: number;
  bytes: number;
  /** documents written whose key was signed by someone this person never marked verified */
  unverified: number;
  /** those people's usernames */
  unverifiedPeople: string[];
  damaged: RescuedDocument[];
  notTrusted: RescuedDocument[];
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
type DocumentRow = Pick<FullDocumentRow, 'id' | 'meta' | 'key_wrap' | 'deleted_at' | 'created_at' | 'space_id'>;

export const TRASH_FOLDER = 'Trash';
export const SHARED_FOLDER = 'Shared with me';
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

/** One document to write: where it goes and how its key is opened. */
interface Job {
  id: string;
  meta: string;
  createdAt: number;
  from: Provenance;
  by?: string;
  inTrash: boolean;
  /** relative to the output folder, '/'-separated; '' for the output folder itself */
  folder: string;
  /** the document key, and who signed the key it came through (null for the person's own wrap) */
  key: () => { docKey: Uint8Array; signerId: string | null };
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
  let sharing: SharingRows;
  try {
    user = (await db('users').where({ username: normaliseUsername(opts.username) }).first()) as UserRow | undefined;
    if (!user) throw new RescueError(`There is no account named “${opts.username}” in ${dataDir}.`);
    // a backup from before spaces existed has no space_id column
    const columns = ['id', 'meta', 'key_wrap', 'deleted_at', 'created_at', ...((await db.schema.hasColumn('documents', 'space_id')) ? ['space_id'] : [])];
    docs = (await db('documents').where({ owner_id: user.id }).select(columns).orderBy(['created_at', 'id'])) as DocumentRow[];
    sharing = await readSharing(db, user.id);
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
  const shared = new SharedKeys(sharing, keys, user.id);

  // the key opened: only now does anything get written
  await fs.mkdir(outDir, { recursive: true, mode: 0o700 });
  const summary: RescueSummary = {
    username: user.username,
    outDir,
    documents: 0,
    own: 0,
    space: 0,
    shared: 0,
    inTrash: 0,
    bytes: 0,
    unverified: 0,
    unverifiedPeople: [],
    damaged: [],
    notTrusted: [],
    rescued: [],
  };
  try {
    const jobs = planJobs(docs, sharing, shared, user, keys);
    const unverifiedPeople = new Set<string>();
    for (const job of jobs.list) {
      const result: RescuedDocument = { id: job.id, from: job.from, ...(job.by ? { by: job.by } : {}), name: null, file: null, size: 0, inTrash: job.inTrash };
      const folder = path.join(outDir, job.folder);
      const tmp = path.join(folder, `.heirloom-rescue-${job.id}.part`);
      let docKey: Uint8Array | undefined;
      try {
        if (!isUuid(job.id)) throw new Error('its ID is not a document ID.');
        const opened = job.key();
        docKey = opened.docKey;
        let meta: DocMeta;
        try {
          meta = openDocMeta(docKey, job.id, fromB64(job.meta));
          result.name = meta.name;
        } catch (err) {
          throw new Error(`its details (name, type) do not open: ${(err as Error).message}`);
        }
        await fs.mkdir(folder, { recursive: true, mode: 0o700 });
        const blobFile = path.join(dataDir, 'blobs', job.id.slice(0, 2), job.id);
        const written = await decryptTo(blobFile, tmp, docKey, job.id);
        if (written !== meta.size) throw new Error(`it decrypted to ${written} bytes but its details say ${meta.size}.`);
        const name = uniqueName(safeFileName(meta.name), jobs.taken(job.folder));
        const target = path.join(folder, name);
        await fs.rename(tmp, target);
        if (meta.modified > 0) await fs.utimes(target, new Date(), new Date(meta.modified)).catch(() => undefined);
        result.file = job.folder ? `${job.folder}/${name}` : name;
        result.size = written;
        summary.documents++;
        summary[job.from]++;
        if (job.inTrash) summary.inTrash++;
        summary.bytes += written;
        if (opened.signerId !== null && shared.unverified(opened.signerId)) {
          summary.unverified++;
          unverifiedPeople.add(shared.username(opened.signerId));
        }
        summary.rescued.push(result);
      } catch (err) {
        await fs.rm(tmp, { force: true });
        if (err instanceof NotTrustedError) {
          result.notTrusted = err.message;
          summary.notTrusted.push(result);
        } else {
          result.damaged = isCryptoError(err) ? `the encrypted file does not decrypt: ${err.message}` : (err as Error).message;
          summary.damaged.push(result);
        }
      } finally {
        if (docKey) memzero(docKey);
      }
      opts.onDocument?.(result);
    }
    summary.unverifiedPeople = [...unverifiedPeople].sort();
  } finally {
    shared.wipe();
    wipeUnlockedKeys(keys);
  }
  return summary;
}

/**
 * Where every document goes (docs/rescue.md "The folder layout"): own documents in the output folder,
 * trashed ones in Trash/, those in one of the person's spaces (own or not) in a folder named after the
 * space, and those shared with them in "Shared with me/<who shared it>/". Folder names are reserved before
 * any file name, so a document called "Trash" or a space called "Trash" cannot take a folder's place.
 */
function planJobs(docs: DocumentRow[], sharing: SharingRows, shared: SharedKeys, user: UserRow, keys: UnlockedKeys) {
  const names = new Map<string, Set<string>>([['', new Set()]]);
  const taken = (folder: string) => {
    let set = names.get(folder);
    if (!set) names.set(folder, (set = new Set()));
    return set;
  };
  const root = taken('');
  const mySpaces = new Set(sharing.spaces.map((s) => s.id));
  const inMySpace = (spaceId: string | null | undefined): spaceId is string => typeof spaceId === 'string' && mySpaces.has(spaceId);
  if (docs.some((d) => d.deleted_at !== null)) root.add(TRASH_FOLDER.toLowerCase());
  if (sharing.sharedDocuments.length > 0) root.add(SHARED_FOLDER.toLowerCase());
  const spaceFolders = new Map<string, string>();
  const spaceFolder = (spaceId: string) => {
    let folder = spaceFolders.get(spaceId);
    if (folder === undefined) spaceFolders.set(spaceId, (folder = uniqueName(safeFileName(shared.spaceName(spaceId)), root)));
    return folder;
  };
  const sharerFolders = new Map<string, string>();
  const sharerFolder = (sharerId: string) => {
    let folder = sharerFolders.get(sharerId);
    if (folder === undefined) sharerFolders.set(sharerId, (folder = `${SHARED_FOLDER}/${uniqueName(safeFileName(shared.username(sharerId)), taken(SHARED_FOLDER))}`));
    return folder;
  };

  const list: Job[] = [];
  for (const d of docs) {
    const inTrash = d.deleted_at !== null;
    list.push({
      id: d.id,
      meta: d.meta,
      createdAt: Number(d.created_at),
      from: 'own',
      inTrash,
      // an own document in a space is written once, with the space's other documents
      folder: inTrash ? TRASH_FOLDER : inMySpace(d.space_id) ? spaceFolder(d.space_id) : '',
      key: () => ({ docKey: unwrapDocKeyForOwner(keys.accountKey, fromB64(d.key_wrap), d.id, user.id), signerId: null }),
    });
  }
  for (const d of sharing.spaceDocuments) {
    if (!inMySpace(d.space_id)) continue;
    list.push({
      id: d.id,
      meta: d.meta,
      createdAt: Number(d.created_at),
      from: 'space',
      by: shared.username(d.owner_id),
      inTrash: false,
      folder: spaceFolder(d.space_id),
      key: () => shared.spaceDocKey(d),
    });
  }
  for (const d of sharing.sharedDocuments) {
    list.push({
      id: d.id,
      meta: d.meta,
      createdAt: Number(d.created_at),
      from: 'shared',
      by: shared.username(d.sharer_id),
      inTrash: false,
      folder: sharerFolder(d.sharer_id),
      key: () => shared.grantDocKey(d),
    });
  }
  // oldest first everywhere, so "report (2).pdf" is always the later of two
  list.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { list, taken };
}

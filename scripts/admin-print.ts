/** How heirloom-admin shows things to people. The --json output is the services' own objects. */
import type { AdminUserView, Stats } from '../server/services/admin.js';
import type { BackupResult, RestoreResult } from '../server/services/backup.js';
import type { ConfigReport } from '../server/services/configCheck.js';
import type { VerifyReport } from '../server/services/verify.js';

export function size(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} ${v === 1 ? 'byte' : 'bytes'}` : `${v.toFixed(v >= 100 || Number.isInteger(v) ? 0 : 1)} ${units[i]}`;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function userList(list: AdminUserView[]): string {
  if (list.length === 0) return 'No accounts yet.\n';
  const rows = list.map((u) => [
    u.username,
    u.isAdmin ? 'admin' : 'member',
    u.disabled ? 'DISABLED' : 'active',
    u.twoStep ? 'on' : 'to set up',
    String(u.documents),
    `${size(u.used)} of ${size(u.quota)}${u.customQuota ? '' : ' (default)'}`,
    u.createdAt.slice(0, 10),
  ]);
  return `${table(['USERNAME', 'ROLE', 'STATE', 'TWO-STEP', 'DOCUMENTS', 'STORAGE USED', 'SINCE'], rows)}\n`;
}

export function stats(s: Stats): string {
  return (
    [
      `Accounts:           ${s.users.total} (${plural(s.users.admins, 'admin')}, ${s.users.disabled} disabled)`,
      `Documents:          ${s.documents.count} (${s.documents.inTrash} in the trash)`,
      `Encrypted bytes:    ${size(s.documents.bytes)}`,
      `Uploads in flight:  ${s.uploads.inFlight} (${size(s.uploads.reservedBytes)} reserved)`,
      `Database size:      ${size(s.database.bytes)}`,
    ].join('\n') + '\n'
  );
}

export function backup(r: BackupResult, serverKeyFile: string): string {
  const m = r.manifest;
  const blobs = m.files.filter((f) => f.path.startsWith('blobs/'));
  const lines = [
    `Backup written to ${r.dir}`,
    `  database:  ${size(m.files[0]?.size ?? 0)}, ${plural(m.rowCounts.users ?? 0, 'account')}, ${plural(m.rowCounts.documents ?? 0, 'document')}`,
    `  blobs:     ${plural(blobs.length, 'file')}, ${size(blobs.reduce((n, f) => n + f.size, 0))}`,
    `  manifest.json lists the SHA-256 of every file; each copy was read back and checked.`,
  ];
  if (m.uploadsLeftOut > 0) lines.push(`  ${plural(m.uploadsLeftOut, 'upload')} in progress left out (they are not documents yet).`);
  if (m.deletedDuringBackup.length > 0) lines.push(`  ${plural(m.deletedDuringBackup.length, 'document')} deleted while the backup ran left out.`);
  for (const x of m.missingAtBackup) lines.push(`  NOTE: ${x.path} (document ${x.documentId}) was already missing; run heirloom-admin verify.`);
  for (const x of m.wrongSizeAtBackup) lines.push(`  NOTE: ${x.path} has the wrong size (${x.actual}, expected ${x.expected}); run heirloom-admin verify.`);
  if (!m.serverKeyIncluded) {
    lines.push(
      '',
      `The server key is not in this backup, on purpose. Keep a copy of ${serverKeyFile} in another place`,
      '(a password manager, a USB stick in a drawer): without it nobody can log in with a password after a',
      'restore, only with their recovery words. Kept apart, a stolen backup gives nothing to guess passwords against.',
    );
  }
  return `${lines.join('\n')}\n`;
}

export const SERVER_KEY_WARNING =
  'Warning: this backup contains the server key. Together with the database it lets anyone who gets the backup\n' +
  'guess passwords offline (docs/security.md, "What an attacker gets"). Store this backup somewhere only you\n' +
  'can reach, or better: take backups without --include-server-key and keep one copy of the key apart.\n';

export function restore(r: RestoreResult): string {
  const lines = [`Restored ${plural(r.documents, 'document')} (${size(r.bytes)} in all) from the backup of ${r.manifest.createdAt} into ${r.dataDir}.`];
  if (r.serverKey === 'restored') lines.push(`The server key from the backup is at ${r.serverKeyFile}.`);
  if (r.serverKey === 'kept') {
    lines.push(`Using the server key already at ${r.serverKeyFile}. It must be the key of the server the backup came from, or password logins fail.`);
  }
  if (r.serverKey === 'missing') {
    lines.push(
      `The backup has no server key. Put the old server key back at ${r.serverKeyFile} (HEIRLOOM_SERVER_KEY_FILE) BEFORE`,
      'starting Heirloom. Started without it, the server makes a new key: nobody can then log in with a password, and',
      'everyone needs their 24 recovery words.',
    );
  }
  for (const x of r.manifest.missingAtBackup) lines.push(`NOTE: ${x.path} was already missing when the backup was taken.`);
  lines.push('Start Heirloom on this folder, then run heirloom-admin verify.');
  return `${lines.join('\n')}\n`;
}

export function verify(r: VerifyReport): string {
  const c = r.checked;
  const lines = [
    `Checked ${plural(c.documents, 'document')}, ${plural(c.blobs, 'file')} in blobs/, ${plural(c.uploads, 'upload')} in progress` +
      (c.manifest ? `, ${plural(c.hashed, 'SHA-256', 'SHA-256s')} against the backup manifest.` : '. (No backup manifest: sizes only, no hashes.)'),
  ];
  const open = r.problems.filter((p) => !p.repaired);
  const fixed = r.problems.filter((p) => p.repaired);
  for (const p of fixed) lines.push(`  repaired: ${p.message}`);
  if (open.length > 0) {
    lines.push('', `${plural(open.length, 'problem')}:`);
    for (const p of open) {
      lines.push(`  - ${p.message}`);
      if (p.advice) lines.push(`    ${p.advice}`);
    }
  }
  lines.push('', open.length === 0 ? 'Everything is in order.' : 'Problems found (exit code 1).');
  return `${lines.join('\n')}\n`;
}

export function configReport(r: ConfigReport): string {
  const lines: string[] = [];
  if (r.settings.length > 0) {
    lines.push(table(['SETTING', 'VALUE', 'FROM'], r.settings.map((s) => [s.env, s.value, s.source])));
  }
  if (r.problems.length > 0) {
    lines.push('');
    for (const p of r.problems) lines.push(`${p.level === 'error' ? 'ERROR' : 'warning'}: ${p.env ? `${p.env} ` : ''}${p.message}`);
  }
  lines.push('', r.ok ? 'The configuration is valid.' : 'The server would not start with this configuration (exit code 1).');
  return `${lines.join('\n').replace(/^\n/, '')}\n`;
}

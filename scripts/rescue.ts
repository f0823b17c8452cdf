import path from 'node:path';
import { Command } from 'commander';
import { rescue, RescueError, type RescuedDocument, type RescueSummary } from './rescue-lib.js';

/**
 * heirloom-rescue: decrypt one person's documents (their own, their spaces', and those shared with them)
 * from a data folder or a backup, with no server running.
 * Exit codes: 0 everything decrypted; 1 nothing written (wrong words or password, no such account, …);
 * 2 some documents were damaged or not trusted and skipped, the rest are in the output folder.
 */

/** Paths as the person typed them: `npm run rescue` runs in the project folder, INIT_CWD is where they were. */
const userPath = (p: string) => path.resolve(process.env.npm_lifecycle_event && process.env.INIT_CWD ? process.env.INIT_CWD : process.cwd(), p);

/** Reads a line from the terminal without showing it. */
async function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new RescueError('There is no terminal to type the secret into: set HEIRLOOM_RESCUE_PASSWORD, or pass the value after the option.');
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.off('data', onData);
          stdin.setRawMode(false);
          stdin.pause();
          process.stderr.write('\n');
          resolve(text);
          return;
        }
        if (ch === '\u0003') {
          process.stderr.write('\n');
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') text = Array.from(text).slice(0, -1).join('');
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** What a skipped document is called when its name could not be read (its key was never opened). */
function label(d: RescuedDocument): string {
  if (d.name !== null) return d.name;
  if (d.from === 'shared') return `a document shared by ${d.by}`;
  if (d.from === 'space') return `a document ${d.by} added to a space`;
  return '(name unreadable)';
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The closing lines for a person: what was written, where from, and what was skipped and why. */
function report(s: RescueSummary): string {
  const mib = (s.bytes / 1024 / 1024).toFixed(1);
  let text =
    `\nRescued ${plural(s.documents, 'document', 'documents')} of ${s.username} (${mib} MiB` +
    `${s.inTrash ? `, ${s.inTrash} from the trash in Trash/` : ''}) into ${s.outDir}.\n`;
  if (s.space > 0 || s.shared > 0) {
    const parts = [`${s.own} of ${s.username}'s own`];
    if (s.space > 0) parts.push(`${s.space} added by others to ${s.username}'s spaces (a folder per space)`);
    if (s.shared > 0) parts.push(`${s.shared} shared with ${s.username} (in "Shared with me/")`);
    text += `  ${parts.join(', ')}.\n`;
  }
  if (s.unverified > 0) {
    text +=
      `${plural(s.unverified, 'document', 'documents')} came with keys of people ${s.username} never marked verified ` +
      `(${s.unverifiedPeople.join(', ')}): their keys were used as this database holds them.\n`;
  }
  if (s.damaged.length > 0) {
    text += `${plural(s.damaged.length, 'document was', 'documents were')} damaged and skipped:\n`;
    for (const d of s.damaged) text += `  ${label(d)} [${d.id}]: ${d.damaged}\n`;
    text += 'Another (older) backup may hold an undamaged copy: run heirloom-rescue on it, into another folder.\n';
  }
  if (s.notTrusted.length > 0) {
    text += `${plural(s.notTrusted.length, 'document was', 'documents were')} not trusted and skipped (nothing of them was opened):\n`;
    for (const d of s.notTrusted) text += `  ${label(d)} [${d.id}]: not trusted: ${d.notTrusted}\n`;
    text +=
      'If that person really has new keys, compare their new words with them and mark them verified in Heirloom, ' +
      'then rescue again from a newer backup. Otherwise someone changed this database: use an older backup.\n';
  }
  return text;
}

interface Opts {
  data: string;
  username: string;
  words?: string | true;
  password?: string | true;
  serverKey?: string;
  out: string;
  json?: boolean;
}

const program = new Command('heirloom-rescue')
  .description(
    'Decrypt every document of one person from a Heirloom data folder or backup folder, with no server running, ' +
      'into a folder with the original names: their own (trashed ones in a "Trash" folder), those in their spaces ' +
      '(a folder per space), and those shared with them ("Shared with me/<who shared it>").\n\n' +
      'With --words only the database and blobs are needed. With --password the server key is needed too ' +
      '(default DATA/secrets/server.key). Nothing is written unless the key opens. docs/rescue.md explains more; ' +
      'docs/format.md describes every byte, so anyone can write their own.',
  )
  .requiredOption('--data <dir>', 'the data folder or a backup folder (holds heirloom.sqlite and blobs/)')
  .requiredOption('--username <name>', 'whose documents')
  .option('--words [words]', 'the 24 recovery words, in quotes (asked for without showing them when left empty)')
  .option('--password [password]', 'use the password instead (asked for without showing it when left empty, or read from HEIRLOOM_RESCUE_PASSWORD)')
  .option('--server-key <file>', 'the server key, for --password (default: DATA/secrets/server.key)')
  .requiredOption('--out <dir>', 'a new or empty folder for the decrypted documents')
  .option('--json', 'print a JSON summary instead')
  .showHelpAfterError()
  .action(async (opts: Opts) => {
    if (opts.words === undefined && opts.password === undefined) throw new RescueError('Give either --words or --password.');
    const words = opts.words === true ? await askHidden('Recovery words (not shown): ') : opts.words;
    const password =
      opts.password === true ? (process.env.HEIRLOOM_RESCUE_PASSWORD ?? (await askHidden(`Password of ${opts.username} (not shown): `))) : opts.password;
    const line = (d: RescuedDocument) => {
      if (opts.json) return;
      if (d.notTrusted) process.stdout.write(`  NOT TRUSTED  ${label(d)}: ${d.notTrusted}\n`);
      else process.stdout.write(d.damaged ? `  DAMAGED  ${d.name ?? (d.from === 'own' ? d.id : label(d))}: ${d.damaged}\n` : `  ok       ${d.file}\n`);
    };
    const summary = await rescue({
      dataDir: userPath(opts.data),
      username: opts.username,
      words,
      password,
      serverKeyFile: opts.serverKey === undefined ? undefined : userPath(opts.serverKey),
      outDir: userPath(opts.out),
      onDocument: line,
      onDeriving: () => void (opts.json || process.stderr.write('Deriving the key from the password (a few seconds)…\n')),
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    } else {
      process.stdout.write(report(summary));
    }
    if (summary.damaged.length > 0 || summary.notTrusted.length > 0) process.exitCode = 2;
  });

// The rescued files are plaintext: readable by the person who ran the rescue only, never by other users.
process.umask(0o077);
program.parseAsync().catch((err) => {
  process.stderr.write(`heirloom-rescue: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

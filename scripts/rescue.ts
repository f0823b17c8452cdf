import path from 'node:path';
import { Command } from 'commander';
import { rescue, RescueError, type RescuedDocument } from './rescue-lib.js';

/**
 * heirloom-rescue: decrypt one person's documents from a data folder or a backup, with no server running.
 * Exit codes: 0 everything decrypted; 1 nothing written (wrong words or password, no such account, …);
 * 2 some documents were damaged and skipped, the rest are in the output folder.
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
      'into a folder with the original names (trashed documents go to a "Trash" folder inside it).\n\n' +
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
      process.stdout.write(d.damaged ? `  DAMAGED  ${d.name ?? d.id}: ${d.damaged}\n` : `  ok       ${d.file}\n`);
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
      const mib = (summary.bytes / 1024 / 1024).toFixed(1);
      process.stdout.write(
        `\nRescued ${summary.documents} document${summary.documents === 1 ? '' : 's'} of ${summary.username} (${mib} MiB` +
          `${summary.inTrash ? `, ${summary.inTrash} from the trash in ${'Trash/'}` : ''}) into ${summary.outDir}.\n`,
      );
      if (summary.damaged.length > 0) {
        process.stdout.write(`${summary.damaged.length} document${summary.damaged.length === 1 ? ' was' : 's were'} damaged and skipped:\n`);
        for (const d of summary.damaged) process.stdout.write(`  ${d.name ?? '(name unreadable)'} [${d.id}]: ${d.damaged}\n`);
        process.stdout.write('Another (older) backup may hold an undamaged copy: run heirloom-rescue on it, into another folder.\n');
      }
    }
    if (summary.damaged.length > 0) process.exitCode = 2;
  });

// The rescued files are plaintext: readable by the person who ran the rescue only, never by other users.
process.umask(0o077);
program.parseAsync().catch((err) => {
  process.stderr.write(`heirloom-rescue: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

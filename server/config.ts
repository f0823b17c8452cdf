import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting Heirloom reads, in one place. Each key has its environment name, a default and a doc
 * line; docs/configuration.md is checked against this table by a test.
 */
interface KeySpec {
  env: string;
  doc: string;
  default?: string;
  /** accept ENV_FILE too (Docker secrets) */
  file?: boolean;
  schema: z.ZodType;
}

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => ['true', '1', 'yes'].includes(v));

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const CONFIG_KEYS = {
  dataDir: {
    env: 'HEIRLOOM_DATA_DIR',
    default: './data',
    doc: 'Folder for the database, the document blobs, uploads in flight and (by default) the server key.',
    schema: z.string().min(1),
  },
  port: {
    env: 'HEIRLOOM_PORT',
    default: '8080',
    doc: 'TCP port the web server listens on.',
    schema: int(0, 65535),
  },
  host: {
    env: 'HEIRLOOM_HOST',
    default: '0.0.0.0',
    doc: 'Address the web server binds to. Use 127.0.0.1 to accept only local connections.',
    schema: z.string().min(1),
  },
  baseUrl: {
    env: 'HEIRLOOM_BASE_URL',
    doc: 'The address people use to reach Heirloom (e.g. https://vault.example.org). Used in printed links. Default: http://localhost:<port>.',
    schema: z
      .url({ message: 'must be a full URL such as https://vault.example.org' })
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
  },
  serverKeyFile: {
    env: 'HEIRLOOM_SERVER_KEY_FILE',
    doc: 'Path of the 32-byte server key. Created (mode 0600) on first start when missing. Default: <data dir>/secrets/server.key. Back it up apart from the database.',
    schema: z.string().min(1).optional(),
  },
  smtpUrl: {
    env: 'HEIRLOOM_SMTP_URL',
    file: true,
    doc: 'Optional SMTP server for notification emails, e.g. smtps://user:pass@mail.example.org:465.',
    schema: z.url({ message: 'must be a URL such as smtp://host:587' }).optional(),
  },
  trustProxy: {
    env: 'HEIRLOOM_TRUST_PROXY',
    default: 'false',
    doc: 'Set when Heirloom runs behind a reverse proxy: true, a number of hops, or a comma-separated list of proxy addresses. Needed for correct client IPs and secure cookies.',
    schema: z.string().trim().min(1),
  },
  sessionIdleMinutes: {
    env: 'HEIRLOOM_SESSION_IDLE_MINUTES',
    default: '30',
    doc: 'A session with no activity for this many minutes ends; the vault also locks itself in the browser.',
    schema: int(1, 24 * 60),
  },
  sessionAbsoluteHours: {
    env: 'HEIRLOOM_SESSION_ABSOLUTE_HOURS',
    default: '12',
    doc: 'Every session ends this many hours after login, active or not.',
    schema: int(1, 24 * 30),
  },
  inviteDays: {
    env: 'HEIRLOOM_INVITE_DAYS',
    default: '7',
    doc: 'How many days an invitation link stays valid.',
    schema: int(1, 90),
  },
  kdfOps: {
    env: 'HEIRLOOM_KDF_OPS',
    default: '3',
    doc: 'Argon2id passes for new passwords (minimum 3).',
    schema: int(3, 20),
  },
  kdfMemMiB: {
    env: 'HEIRLOOM_KDF_MEM_MIB',
    default: '256',
    doc: 'Argon2id memory in MiB for new passwords (minimum 64). Higher is slower for attackers and for logins on weak phones.',
    schema: int(64, 1024),
  },
  defaultQuotaMiB: {
    env: 'HEIRLOOM_DEFAULT_QUOTA_MIB',
    default: '10240',
    doc: 'Storage each person may use, in MiB, unless the admin set their own quota (heirloom-admin user quota). Counts encrypted bytes, including the trash.',
    schema: int(1, 1024 * 1024 * 1024),
  },
  logLevel: {
    env: 'HEIRLOOM_LOG_LEVEL',
    default: 'info',
    doc: 'Log level: fatal, error, warn, info, debug or silent.',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  },
} satisfies Record<string, KeySpec>;

export interface Config {
  dataDir: string;
  port: number;
  host: string;
  baseUrl: string;
  serverKeyFile: string;
  smtpUrl?: string;
  trustProxy: boolean | number | string[];
  sessionIdleMinutes: number;
  sessionAbsoluteHours: number;
  inviteDays: number;
  kdfOps: number;
  kdfMemMiB: number;
  defaultQuotaMiB: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export class ConfigError extends Error {
  constructor(
    public readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
  }
}

function parseTrustProxy(raw: string): boolean | number | string[] {
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no' || v === '0') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Reads and validates the configuration; throws ConfigError naming the first bad key. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CONFIG_KEYS) as [keyof typeof CONFIG_KEYS, KeySpec][]) {
    let value = env[spec.env];
    if (spec.file && value === undefined && env[`${spec.env}_FILE`]) {
      const file = env[`${spec.env}_FILE`] as string;
      try {
        value = readFileSync(file, 'utf8').trim();
      } catch {
        throw new ConfigError(`${spec.env}_FILE`, `cannot read the file ${file}`);
      }
    }
    if (value === '') value = undefined;
    value ??= spec.default;
    const parsed = spec.schema.safeParse(value);
    if (!parsed.success) {
      throw new ConfigError(spec.env, parsed.error.issues[0]?.message ?? 'is not valid');
    }
    raw[name] = parsed.data;
  }
  const dataDir = path.resolve(raw.dataDir as string);
  const port = raw.port as number;
  return {
    dataDir,
    port,
    host: raw.host as string,
    baseUrl: (raw.baseUrl as string | undefined) ?? `http://localhost:${port}`,
    serverKeyFile: path.resolve((raw.serverKeyFile as string | undefined) ?? path.join(dataDir, 'secrets', 'server.key')),
    smtpUrl: raw.smtpUrl as string | undefined,
    trustProxy: parseTrustProxy(raw.trustProxy as string),
    sessionIdleMinutes: raw.sessionIdleMinutes as number,
    sessionAbsoluteHours: raw.sessionAbsoluteHours as number,
    inviteDays: raw.inviteDays as number,
    kdfOps: raw.kdfOps as number,
    kdfMemMiB: raw.kdfMemMiB as number,
    defaultQuotaMiB: raw.defaultQuotaMiB as number,
    logLevel: raw.logLevel as Config['logLevel'],
  };
}

import { CONFIG_KEYS, ConfigError, loadConfig, type Config } from '../config.js';
import { pathInfo, readText } from '../storage/files.js';
import { readServerKey, ServerKeyError } from '../storage/serverKey.js';

/**
 * `heirloom-admin config check`: every setting with its effective value and where it came from (secrets
 * masked), and what would stop the server or weaken it, before it is started. Creates nothing.
 */

export interface SettingView {
  key: string;
  env: string;
  value: string;
  source: 'environment' | 'file' | 'default';
}

export interface ConfigProblem {
  level: 'error' | 'warning';
  env?: string;
  message: string;
}

export interface ConfigReport {
  ok: boolean;
  settings: SettingView[];
  problems: ConfigProblem[];
}

/** smtps://user:secret@host → smtps://user:****@host; anything unparsable is masked whole. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '****';
  }
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export async function checkConfig(env: NodeJS.ProcessEnv = process.env): Promise<ConfigReport> {
  const problems: ConfigProblem[] = [];

  // every bad value, not just the first (loadConfig stops at the first)
  for (const spec of Object.values(CONFIG_KEYS) as { env: string; default?: string; file?: boolean; schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } } }[]) {
    let value: string | undefined = env[spec.env];
    if (spec.file && value === undefined && env[`${spec.env}_FILE`]) {
      try {
        value = (await readText(env[`${spec.env}_FILE`] as string)).trim();
      } catch {
        problems.push({ level: 'error', env: `${spec.env}_FILE`, message: `cannot read the file ${env[`${spec.env}_FILE`]}` });
        continue;
      }
    }
    if (value === '') value = undefined;
    const parsed = spec.schema.safeParse(value ?? spec.default);
    if (!parsed.success) problems.push({ level: 'error', env: spec.env, message: parsed.error?.issues[0]?.message ?? 'is not valid' });
  }
  const known = new Set(Object.values(CONFIG_KEYS).flatMap((s) => [s.env, `${s.env}_FILE`]));
  for (const name of Object.keys(env).filter((n) => n.startsWith('HEIRLOOM_') && !known.has(n)).sort()) {
    if (name === 'HEIRLOOM_RESCUE_PASSWORD') continue; // the rescue tool's, not the server's
    problems.push({ level: 'warning', env: name, message: 'is not a Heirloom setting (a typo?); it is ignored.' });
  }
  if (problems.some((p) => p.level === 'error')) return { ok: false, settings: [], problems };

  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, settings: [], problems: [...problems, { level: 'error', env: err.key, message: err.message }] };
    throw err;
  }

  const settings: SettingView[] = (Object.entries(CONFIG_KEYS) as [keyof Config, { env: string; file?: boolean }][]).map(([key, spec]) => {
    const raw = config[key];
    const shown =
      raw === undefined ? '(not set)' : key === 'smtpUrl' ? maskUrl(String(raw)) : Array.isArray(raw) ? raw.join(',') : String(raw);
    const source: SettingView['source'] =
      env[spec.env] !== undefined && env[spec.env] !== '' ? 'environment' : spec.file && env[`${spec.env}_FILE`] ? 'file' : 'default';
    return { key, env: spec.env, value: shown, source };
  });

  const data = await pathInfo(config.dataDir);
  if (!data.exists) {
    problems.push({ level: 'warning', env: 'HEIRLOOM_DATA_DIR', message: `${config.dataDir} does not exist yet; the server creates it at first start.` });
  } else if (!data.isDir) {
    problems.push({ level: 'error', env: 'HEIRLOOM_DATA_DIR', message: `${config.dataDir} is not a folder.` });
  } else if (!data.writable) {
    problems.push({ level: 'error', env: 'HEIRLOOM_DATA_DIR', message: `${config.dataDir} is not writable by this user.` });
  }

  const key = await pathInfo(config.serverKeyFile);
  if (!key.exists) {
    problems.push({
      level: 'warning',
      env: 'HEIRLOOM_SERVER_KEY_FILE',
      message: `There is no server key at ${config.serverKeyFile}; the server makes a new one at first start. If you are restoring, put the old key back first, or nobody can log in with a password.`,
    });
  } else {
    try {
      readServerKey(config.serverKeyFile);
      if ((key.mode & 0o077) !== 0) {
        problems.push({ level: 'warning', env: 'HEIRLOOM_SERVER_KEY_FILE', message: `${config.serverKeyFile} can be read by other users (mode ${key.mode.toString(8)}); make it 0600.` });
      }
    } catch (err) {
      if (!(err instanceof ServerKeyError)) throw err;
      problems.push({ level: 'error', env: 'HEIRLOOM_SERVER_KEY_FILE', message: err.message });
    }
  }

  const base = new URL(config.baseUrl);
  if (base.protocol === 'http:' && !LOCAL_HOSTS.has(base.hostname)) {
    problems.push({
      level: 'warning',
      env: 'HEIRLOOM_BASE_URL',
      message: `${config.baseUrl} is plain HTTP: anyone on the network path could change the pages that handle passwords. Put Heirloom behind HTTPS (docs/reverse-proxy.md).`,
    });
  }
  if (base.protocol === 'https:' && config.trustProxy === false) {
    problems.push({
      level: 'warning',
      env: 'HEIRLOOM_TRUST_PROXY',
      message: 'The base URL is HTTPS but HEIRLOOM_TRUST_PROXY is off: behind a reverse proxy, set it so cookies are marked Secure and addresses in the security log are right.',
    });
  }
  return { ok: !problems.some((p) => p.level === 'error'), settings, problems };
}

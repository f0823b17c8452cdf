import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONFIG_KEYS, ConfigError, loadConfig } from '../../server/config.js';
import { configTable } from '../../server/configDocs.js';

describe('configuration', () => {
  it('runs on defaults alone: ./data, port 8080, a localhost base URL', () => {
    const c = loadConfig({});
    expect(c.port).to.equal(8080);
    expect(c.dataDir).to.equal(path.resolve('data'));
    expect(c.baseUrl).to.equal('http://localhost:8080');
    expect(c.serverKeyFile).to.equal(path.resolve('data', 'secrets', 'server.key'));
    expect(c.trustProxy).to.equal(false);
  });

  it('stops on a bad value with a message naming the setting', () => {
    const bad: [Record<string, string>, string][] = [
      [{ HEIRLOOM_PORT: 'eighty' }, 'HEIRLOOM_PORT'],
      [{ HEIRLOOM_PORT: '70000' }, 'HEIRLOOM_PORT'],
      [{ HEIRLOOM_BASE_URL: 'vault.example.org' }, 'HEIRLOOM_BASE_URL'],
      [{ HEIRLOOM_KDF_MEM_MIB: '16' }, 'HEIRLOOM_KDF_MEM_MIB'],
      [{ HEIRLOOM_KDF_OPS: '1' }, 'HEIRLOOM_KDF_OPS'],
      [{ HEIRLOOM_LOG_LEVEL: 'loud' }, 'HEIRLOOM_LOG_LEVEL'],
      [{ HEIRLOOM_SMTP_URL_FILE: '/no/such/file' }, 'HEIRLOOM_SMTP_URL_FILE'],
    ];
    for (const [env, key] of bad) {
      expect(() => loadConfig(env), key).to.throw(ConfigError).with.property('key', key);
    }
  });

  it('reads secrets from *_FILE variables and trims the base URL', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'heirloom-cfg-'));
    writeFileSync(path.join(dir, 'smtp'), 'smtp://mail.example.org:587\n');
    const c = loadConfig({ HEIRLOOM_SMTP_URL_FILE: path.join(dir, 'smtp'), HEIRLOOM_BASE_URL: 'https://vault.example.org/', HEIRLOOM_TRUST_PROXY: '1' });
    expect(c.smtpUrl).to.equal('smtp://mail.example.org:587');
    expect(c.baseUrl).to.equal('https://vault.example.org');
    expect(c.trustProxy).to.equal(1);
  });

  it('has every setting, and only real ones, in .env.example', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const known = new Set(Object.values(CONFIG_KEYS).map((k) => k.env));
    // NAME_FILE is the file variant of a secret NAME
    const base = (name: string) => (!known.has(name) && name.endsWith('_FILE') ? name.slice(0, -5) : name);
    const mentioned = new Set([...example.matchAll(/^#?\s*(HEIRLOOM_[A-Z_]+)=/gm)].map((m) => base(m[1] as string)));
    expect([...known].filter((k) => !mentioned.has(k)), 'missing from .env.example').to.deep.equal([]);
    expect([...mentioned].filter((k) => !known.has(k as string)), 'unknown in .env.example').to.deep.equal([]);
  });

  it('is documented in docs/configuration.md, every key, exactly as the schema says', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).to.contain(configTable());
    for (const k of Object.values(CONFIG_KEYS)) expect(doc).to.contain(k.env);
  });
});

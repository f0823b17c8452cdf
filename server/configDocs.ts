import { CONFIG_KEYS } from './config.js';

export const TABLE_START = '<!-- config-table:start -->';
export const TABLE_END = '<!-- config-table:end -->';

/** The settings table of docs/configuration.md, made from the schema so the two cannot drift apart. */
export function configTable(): string {
  const rows = Object.values(CONFIG_KEYS).map((k) => {
    const spec = k as { env: string; doc: string; default?: string; file?: boolean };
    const name = spec.file ? `\`${spec.env}\` (or \`${spec.env}_FILE\`)` : `\`${spec.env}\``;
    const def = spec.default !== undefined ? `\`${spec.default}\`` : '—';
    return `| ${name} | ${def} | ${spec.doc.replace(/\|/g, '\\|')} |`;
  });
  return [TABLE_START, '<!-- generated from server/config.ts by `npm run docs:config`; edit the schema, not this table -->', '', '| Setting | Default | What it does |', '| --- | --- | --- |', ...rows, TABLE_END].join('\n');
}

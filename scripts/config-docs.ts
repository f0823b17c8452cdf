import { readFileSync, writeFileSync } from 'node:fs';
import { configTable, TABLE_END, TABLE_START } from '../server/configDocs.js';

// Rewrites the generated table in docs/configuration.md from the config schema.
const file = new URL('../docs/configuration.md', import.meta.url);
const text = readFileSync(file, 'utf8');
const start = text.indexOf(TABLE_START);
const end = text.indexOf(TABLE_END);
if (start < 0 || end < 0) throw new Error('docs/configuration.md has no generated-table markers');
writeFileSync(file, text.slice(0, start) + configTable() + text.slice(end + TABLE_END.length));
process.stdout.write('docs/configuration.md updated\n');

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every file under a folder (or the file itself). */
export function filesUnder(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p).flatMap((name) => filesUnder(path.join(p, name)));
}

/**
 * Where any of `secrets` occurs in the given files and folders (recursively), byte for byte as UTF-8, so binary
 * files (SQLite, its WAL, keys) are searched too. Six-digit codes only count as a whole number: a code that
 * happens to sit inside a timestamp is not a leak. Returns "secret in file" lines; empty when nothing leaked.
 */
export function leaks(places: string[], secrets: { text?: string[]; codes?: string[] }): string[] {
  const found: string[] = [];
  for (const file of places.flatMap(filesUnder)) {
    const bytes = readFileSync(file);
    for (const s of secrets.text ?? []) {
      if (bytes.includes(Buffer.from(s, 'utf8'))) found.push(`"${s}" in ${file}`);
    }
    const latin1 = bytes.toString('latin1');
    for (const code of secrets.codes ?? []) {
      if (new RegExp(`(?<![0-9])${code}(?![0-9])`).test(latin1)) found.push(`code ${code} in ${file}`);
    }
  }
  return found;
}

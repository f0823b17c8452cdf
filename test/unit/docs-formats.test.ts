import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encryptBlob, newDocKey, ready, sealDocMeta, toB64, utf8, type DocMeta } from '../../client/crypto/index.js';
import { checkMetaEnvelope } from '../../server/services/documents.js';

/**
 * The sizes docs/format.md, docs/security.md and docs/api.md promise are what the crypto core writes and the
 * server accepts. The docs write each size rule as a one-line formula in a code block
 * (`blob length = …`, `envelope length = …`); this test evaluates those very lines.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const doc = (name: string) => readFileSync(path.join(root, 'docs', name), 'utf8');

const DOC_ID = '0b5e7c2a-9d41-4f8e-a3b6-5c7d8e9f0a1b';
const MiB = 1024 * 1024;
const BLOB_SIZES = [0, 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 8 * MiB];

/** The right-hand sides of the lines `<name> = …` inside fenced code blocks of a doc. */
function formulas(markdown: string, name: string): string[] {
  const out: string[] = [];
  // fences may be indented, inside a list item
  for (const block of markdown.matchAll(/^[ \t]*```[^\n]*\n([\s\S]*?)^[ \t]*```/gm)) {
    for (const line of (block[1] as string).split('\n')) {
      const m = new RegExp(`^\\s*${name} = (.+?)\\s*$`).exec(line);
      if (m) out.push(m[1] as string);
    }
  }
  return out;
}

/** Turns `32 + size + 17 × max(1, ceil(size / 4194304))` into a function of one variable. */
function evaluate(formula: string, variable: string): (x: number) => number {
  const js = formula
    .replace(/×/g, '*')
    .replace(/\b(ceil|floor|max|min)\(/g, 'Math.$1(');
  // only arithmetic on the one variable: nothing else from the doc is ever run
  const allowed = js.replace(new RegExp(`\\b${variable}\\b`, 'g'), '').replace(/Math\.(ceil|floor|max|min)/g, '');
  if (!/^[\d\s+\-*/(),]*$/.test(allowed)) throw new Error(`not a formula of ${variable}: ${formula}`);
  return new Function(variable, `return ${js};`) as (x: number) => number;
}

/** Rows of the markdown table whose header row contains `header`, as cells with thousands separators gone. */
function tableRows(markdown: string, header: string): number[][] {
  const lines = markdown.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => l.startsWith('|') && l.includes(header));
  if (start < 0) return [];
  const rows: number[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => Number(c.replace(/[,\s`]/g, ''))));
  }
  return rows;
}

describe('sizes the docs promise', () => {
  before(() => ready());

  describe('the blob length', () => {
    const real = new Map<number, number>();
    before(() => {
      const key = newDocKey();
      for (const size of BLOB_SIZES) real.set(size, encryptBlob(key, DOC_ID, new Uint8Array(size)).length);
    });

    for (const file of ['format.md', 'security.md']) {
      it(`follows the formula in docs/${file} for empty files, one byte and around 4 MiB and 8 MiB`, () => {
        const found = formulas(doc(file), 'blob length');
        expect(found, `docs/${file} needs a code block line "blob length = …" in terms of size`).to.not.be.empty;
        for (const formula of found) {
          const f = evaluate(formula, 'size');
          for (const size of BLOB_SIZES) expect(f(size), `${formula} for size ${size}`).to.equal(real.get(size));
        }
      });
    }

    it('matches every row of the table in docs/format.md, which covers those six sizes', () => {
      const rows = tableRows(doc('format.md'), 'blob length');
      expect(rows.map((r) => r[0])).to.include.members(BLOB_SIZES);
      for (const [size, chunks, length] of rows) {
        const blob = encryptBlob(newDocKey(), DOC_ID, new Uint8Array(size as number));
        expect(length, `blob length for ${size}`).to.equal(blob.length);
        expect(chunks, `chunks for ${size}`).to.equal(Math.max(1, Math.ceil((size as number) / (4 * MiB))));
      }
    });
  });

  describe('the metadata envelope', () => {
    const base: DocMeta = { name: 'a', type: 'application/pdf', size: 1, modified: 1700000000000 };
    /** Metadata whose JSON is exactly `n` bytes long (a note fills it up). */
    const metaOfJsonLength = (n: number): DocMeta => {
      const empty = utf8(JSON.stringify({ ...base, note: '' })).length;
      return { ...base, note: 'x'.repeat(n - empty) };
    };
    const jsonLengths = [100, 255, 256, 511, 512, 4095, 4096];

    it('follows the formula in docs/format.md', () => {
      const found = formulas(doc('format.md'), 'envelope length');
      expect(found, 'docs/format.md needs a code block line "envelope length = …" in terms of json').to.not.be.empty;
      for (const formula of found) {
        const f = evaluate(formula, 'json');
        for (const n of jsonLengths) {
          const sealed = sealDocMeta(newDocKey(), DOC_ID, metaOfJsonLength(n));
          expect(f(n), `${formula} for JSON of ${n} bytes`).to.equal(sealed.length);
        }
      }
    });

    it('has the maximum size docs/api.md and docs/format.md give, which the server enforces', () => {
      const accepted = (n: number) => {
        try {
          checkMetaEnvelope(toB64(sealDocMeta(newDocKey(), DOC_ID, metaOfJsonLength(n))));
          return true;
        } catch {
          return false;
        }
      };
      // the longest JSON the server takes, found by its own check
      let longest = 255;
      while (accepted(longest + 256)) longest += 256;
      expect(accepted(longest + 1), 'the limit falls on a 256-byte step').to.equal(false);
      const biggest = sealDocMeta(newDocKey(), DOC_ID, metaOfJsonLength(longest)).length;
      for (const file of ['api.md', 'format.md']) {
        const text = doc(file);
        expect(text, `docs/${file} states the largest envelope, ${biggest.toLocaleString('en')} bytes`).to.include(`${biggest.toLocaleString('en')} bytes`);
        expect(text, `docs/${file} states the longest JSON, ${longest.toLocaleString('en')} bytes`).to.include(`${longest.toLocaleString('en')} bytes`);
      }
    });
  });
});

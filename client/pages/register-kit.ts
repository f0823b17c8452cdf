/** The parts of registration that only draw things: the recovery kit, the word check, the TOTP panel. */
import { $ } from './dom.js';

export interface KitInfo {
  username: string;
  url: string;
  date: Date;
  words: string[];
}

export function renderKit(root: ParentNode, kit: KitInfo): void {
  $('[data-kit-username]', root).textContent = kit.username;
  $('[data-kit-url]', root).textContent = kit.url;
  $('[data-kit-date]', root).textContent = kit.date.toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' });
  const list = $('[data-kit-words]', root);
  list.replaceChildren(
    ...kit.words.map((word, i) => {
      const li = document.createElement('li');
      li.dataset.kitWord = String(i + 1);
      const num = document.createElement('span');
      num.className = 'kit__num';
      num.textContent = `${i + 1}.`;
      const text = document.createElement('span');
      text.className = 'kit__word';
      text.textContent = word;
      li.append(num, text);
      return li;
    }),
  );
}

export function clearKit(root: ParentNode): void {
  $('[data-kit-words]', root).replaceChildren();
}

/** `count` distinct word positions (1-based), chosen with the platform's CSPRNG, in ascending order. */
export function pickPositions(total: number, count: number): number[] {
  const chosen = new Set<number>();
  const buf = new Uint32Array(1);
  while (chosen.size < count) {
    crypto.getRandomValues(buf);
    chosen.add((buf[0] ?? 0) % total + 1);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** One input per position: `#confirm-word-<n>` with data-confirm-word="<n>" (n = the word's number). */
export function renderWordCheck(container: HTMLElement, positions: number[]): void {
  container.replaceChildren(
    ...positions.map((n) => {
      const field = document.createElement('div');
      field.className = 'field';
      const label = document.createElement('label');
      label.htmlFor = `confirm-word-${n}`;
      label.textContent = `Word #${n}`;
      const input = document.createElement('input');
      input.type = 'text';
      input.id = `confirm-word-${n}`;
      input.autocomplete = 'off';
      input.autocapitalize = 'none';
      input.spellcheck = false;
      input.required = true;
      input.dataset.confirmWord = String(n);
      field.append(label, input);
      return field;
    }),
  );
}

export const normalizeWord = (w: string): string => w.normalize('NFKD').trim().toLowerCase();

/** The server's QR code, parsed as SVG and stripped of anything active before it goes into the page. */
export function renderQr(container: HTMLElement, svgText: string): void {
  const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
  const svg = doc.documentElement;
  if (svg.nodeName.toLowerCase() !== 'svg' || doc.querySelector('parsererror')) {
    container.replaceChildren();
    return;
  }
  for (const el of svg.querySelectorAll('script, foreignObject, style, a, image, use')) el.remove();
  for (const el of [svg, ...svg.querySelectorAll('*')]) {
    for (const attr of [...el.attributes]) {
      if (/^on/i.test(attr.name) || attr.name === 'style' || /href$/i.test(attr.name)) el.removeAttribute(attr.name);
    }
  }
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'QR code to scan with your authenticator app');
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  container.replaceChildren(document.importNode(svg, true));
}

/** "JBSWY3DPEHPK3PXP" → "JBSW Y3DP EHPK 3PXP": easier to type into an app by hand. */
export function groupSecret(secret: string): string {
  return secret.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

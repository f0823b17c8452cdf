/** How documents read on screen: sizes, dates, speeds, durations and the kind of file (for its icon). */

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'];

/** Sizes in 1024 steps, the way most file managers show them: "0 bytes", "1 byte", "5.2 MB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes === 1) return '1 byte';
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${v} bytes`;
  return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')} ${UNITS[i]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(Math.max(0, Math.round(bytesPerSecond)))}/s`;
}

/** "about 5 seconds left", "2 minutes left" — rounded, because exact seconds only jitter. */
/**
 * A transfer's speed over its last few seconds, from the running total of bytes: what "38 MB/s · about 12 s
 * left" is made of. 0 until `minMs` of samples say something.
 */
export class SpeedMeter {
  #samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly minMs: number,
    private readonly windowMs = 4000,
  ) {}

  add(bytes: number, now = performance.now()): void {
    const samples = this.#samples;
    samples.push({ t: now, bytes });
    while (samples.length > 2 && now - (samples[0]?.t ?? now) > this.windowMs) samples.shift();
  }

  /** Bytes per second, up to the last sample. */
  get speed(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.t - first.t <= this.minMs) return 0;
    return (last.bytes - first.bytes) / ((last.t - first.t) / 1000);
  }

  reset(): void {
    this.#samples = [];
  }
}

export function formatTimeLeft(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 5) return 'a few seconds left';
  if (seconds < 60) return `${Math.round(seconds / 5) * 5} seconds left`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return minutes === 1 ? '1 minute left' : `${minutes} minutes left`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min left`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatDate(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? dateFormat.format(new Date(ms)) : '—';
}

export function formatDateTime(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? dateTimeFormat.format(new Date(ms)) : '—';
}

export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

export type Kind = 'pdf' | 'image' | 'text' | 'sheet' | 'doc' | 'audio' | 'video' | 'archive' | 'other' | 'damaged';

const EXT_KIND: Record<string, Kind> = {
  pdf: 'pdf',
  png: 'image', jpg: 'image', jpeg: 'image', gif: 'image', webp: 'image', heic: 'image', svg: 'image', bmp: 'image', avif: 'image',
  txt: 'text', md: 'text', csv: 'sheet', log: 'text', json: 'text', xml: 'text',
  xls: 'sheet', xlsx: 'sheet', ods: 'sheet', numbers: 'sheet',
  doc: 'doc', docx: 'doc', odt: 'doc', rtf: 'doc', pages: 'doc',
  mp3: 'audio', m4a: 'audio', wav: 'audio', ogg: 'audio', flac: 'audio',
  mp4: 'video', mov: 'video', webm: 'video', mkv: 'video', avi: 'video',
  zip: 'archive', '7z': 'archive', rar: 'archive', gz: 'archive', tar: 'archive',
};

export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : '';
}

/** The kind of a document, from its media type first and its name's extension second. */
export function kindOf(type: string, name: string): Kind {
  const t = type.toLowerCase();
  if (t === 'application/pdf') return 'pdf';
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('audio/')) return 'audio';
  if (t.startsWith('video/')) return 'video';
  if (t.startsWith('text/csv') || t.includes('spreadsheet') || t.includes('excel')) return 'sheet';
  if (t.includes('wordprocessing') || t === 'application/msword' || t === 'application/rtf') return 'doc';
  if (t.includes('zip') || t.includes('compressed') || t.includes('x-tar')) return 'archive';
  if (t.startsWith('text/')) return 'text';
  return EXT_KIND[extensionOf(name)] ?? 'other';
}

/** Short words for the type column: "PDF", "PNG image", "Text", or the extension in capitals. */
export function typeLabel(type: string, name: string): string {
  const kind = kindOf(type, name);
  const ext = extensionOf(name).toUpperCase();
  switch (kind) {
    case 'pdf':
      return 'PDF';
    case 'image':
      return ext ? `${ext} image` : 'Image';
    case 'text':
      return ext && ext !== 'TXT' ? `${ext} text` : 'Text';
    case 'sheet':
      return ext ? `${ext} spreadsheet` : 'Spreadsheet';
    case 'doc':
      return ext ? `${ext} document` : 'Document';
    case 'audio':
      return ext ? `${ext} audio` : 'Audio';
    case 'video':
      return ext ? `${ext} video` : 'Video';
    case 'archive':
      return ext ? `${ext} archive` : 'Archive';
    default:
      return ext ? `${ext} file` : 'File';
  }
}

/** The few letters inside the type icon. */
export function iconLabel(kind: Kind, name: string): string {
  if (kind === 'damaged') return '!';
  if (kind === 'pdf') return 'PDF';
  const ext = extensionOf(name).toUpperCase();
  if (ext && ext.length <= 4) return ext;
  return { image: 'IMG', text: 'TXT', sheet: 'XLS', doc: 'DOC', audio: 'AUD', video: 'VID', archive: 'ZIP', other: 'FILE' }[kind];
}

/** A small badge: the kind in a data attribute (its colour, in app.css) and a short label. */
export function typeIcon(kind: Kind, name: string): HTMLSpanElement {
  const icon = document.createElement('span');
  icon.className = 'type-icon';
  icon.dataset.kind = kind;
  icon.setAttribute('aria-hidden', 'true');
  icon.textContent = iconLabel(kind, name);
  return icon;
}

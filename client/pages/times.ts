/**
 * The server prints times in UTC (it does not know the reader's time zone); this rewrites every
 * <time data-time datetime="ISO"> in local time, and "5 minutes ago" for [data-time-relative].
 * Runs after load and after every htmx swap.
 */
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY],
];

export function relativeTime(date: Date, now = Date.now()): string {
  let value = (date.getTime() - now) / 1000;
  if (Math.abs(value) < 45) return 'just now';
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return absolute.format(date);
}

export function localizeTimes(root: ParentNode = document): void {
  for (const el of root.querySelectorAll<HTMLTimeElement>('time[data-time]')) {
    const date = new Date(el.dateTime);
    if (Number.isNaN(date.getTime())) continue;
    const full = absolute.format(date);
    el.title = full;
    el.textContent = el.hasAttribute('data-time-relative') ? relativeTime(date) : full;
  }
}

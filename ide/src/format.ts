/** How times and names read in the UI. */

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const steps: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Infinity],
];

/** "3 minutes ago", "yesterday". */
export function timeAgo(iso: string, now = Date.now()): string {
  let amount = (new Date(iso).getTime() - now) / 1000;
  if (Math.abs(amount) < 10) return 'just now';
  for (const [unit, size] of steps) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return new Date(iso).toLocaleDateString();
}

/** "14:03:27": activity is read as it happens, so the clock time is what matters. */
export function clockTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function fullDate(iso: string): string {
  return new Date(iso).toLocaleString();
}

export const STACK_LABELS: Record<string, string> = { node: 'Node.js', python: 'Python', go: 'Go' };

/** The services a project may have run beside its sandbox, as the wizard, the header and the palette name them. */
export const PROJECT_SERVICES = [
  { name: 'postgres', title: 'PostgreSQL', offer: 'A PostgreSQL database', variable: 'DATABASE_URL' },
  { name: 'redis', title: 'Redis', offer: 'A Redis', variable: 'REDIS_URL' },
] as const;

/** Text cut to `max` characters, with an ellipsis when cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

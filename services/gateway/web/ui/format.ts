/** A timestamp for people: local date and time, or a dash when there is none. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** How long ago, in the largest whole unit ("3 min ago"), or "never". */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** A count with its noun, singular or plural. */
export function count(n: number, noun: string): string {
  return `${n.toLocaleString()} ${noun}${n === 1 ? '' : 's'}`;
}

/** How many a list holds ("12 products", "10,000+ products" past the count cap, "No product matches."). */
export function listed(pagination: { totalCount: number; totalCountCapped?: true }, noun: string): string {
  if (pagination.totalCount === 0) return `No ${noun} matches.`;
  return pagination.totalCountCapped ? `${pagination.totalCount.toLocaleString()}+ ${noun}s` : count(pagination.totalCount, noun);
}

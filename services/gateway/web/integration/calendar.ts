/** A month of a calendar: its weeks (Monday first), each day as `YYYY-MM-DD` or null outside the month. */
export function monthWeeks(year: number, month: number): (string | null)[][] {
  const days = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const lead = (new Date(Date.UTC(year, month, 1)).getUTCDay() + 6) % 7;
  const cells: (string | null)[] = [...Array<null>(lead).fill(null), ...Array.from({ length: days }, (_, i) => isoDay(year, month, i + 1))];
  while (cells.length % 7 !== 0) cells.push(null);
  return Array.from({ length: cells.length / 7 }, (_, w) => cells.slice(w * 7, w * 7 + 7));
}

/** `YYYY-MM-DD` of a day of a month (month 0-based, as Date counts). */
function isoDay(year: number, month: number, day: number): string {
  return new Date(Date.UTC(year, month, day)).toISOString().slice(0, 10);
}

/** The instants that surely hold every slot whose local date falls in the month, whatever the supplier's zone (±14 h). */
export function monthWindow(year: number, month: number): { from: string; to: string } {
  return { from: new Date(Date.UTC(year, month, 0)).toISOString(), to: new Date(Date.UTC(year, month + 1, 2)).toISOString() };
}

/** Groups items by the local date at the start of their `localDateTimeStart` (the supplier's own day). */
export function byLocalDay<T extends { localDateTimeStart: string | null }>(items: readonly T[]): Map<string, T[]> {
  const days = new Map<string, T[]>();
  for (const item of items) {
    const day = item.localDateTimeStart?.slice(0, 10);
    if (day) days.set(day, [...(days.get(day) ?? []), item]);
  }
  return days;
}

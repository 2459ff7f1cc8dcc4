const DAY_MS = 86_400_000;

/**
 * A slot start `days` after today (the UTC date), at local `time` with `offset`, as a partner
 * sends it: notify refuses starts before today minus the retention or past today plus 2 years,
 * so tests and benches take their dates from the clock rather than write a fixed one.
 */
export function slotStart(days: number, time = '10:00', offset = '+00:00'): string {
  const date = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS + days * DAY_MS).toISOString().slice(0, 10);
  return `${date}T${time}:00${offset}`;
}

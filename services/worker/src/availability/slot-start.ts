/**
 * The UTC instant of a slot's local start as the supplier wrote it (with its offset), ISO 8601, or
 * null when there is none or it does not parse; the local text itself is stored as sent.
 */
export function startsAtOf(localDateTimeStart: string | null): string | null {
  const instant = localDateTimeStart === null ? Number.NaN : Date.parse(localDateTimeStart);
  return Number.isNaN(instant) ? null : new Date(instant).toISOString();
}

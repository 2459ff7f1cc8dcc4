const DAY_MS = 86_400_000;

/**
 * Latest `updatedAt` accepted, past the receiver's clock: a supplier's clock may run ahead of ours
 * a little, never by a day. A later key would outrank every honest change to its slot.
 */
export const UPDATED_AT_AHEAD_MS = DAY_MS;

/** The latest `updatedAt` (epoch ms) accepted at `now`: an order key past it would freeze its slot. */
export function latestUpdatedAt(now: number): number {
  return now + UPDATED_AT_AHEAD_MS;
}

/** How far ahead a slot may start: two years past today. */
const START_AHEAD_YEARS = 2;

/** The instants (epoch ms, both included) a slot's times must lie within to be stored. */
export interface SlotTimeBounds {
  earliestStart: number;
  latestStart: number;
  earliestUpdatedAt: number;
  latestUpdatedAt: number;
}

/**
 * The one rule for the times a slot can carry, relative to `now` (epoch ms): a start from today
 * minus `retentionDays` to today plus 2 years, an `updatedAt` from 1970 to 24 h past `now`.
 * "Today" is a local date in the product's time zone, which the gateway does not know, so the
 * start bounds are UTC days widened by one day each side: every zone's today is inside them.
 * The gateway refuses a change outside them (400) and the worker drops a pulled slot outside them
 * (and answers `rejected` a queued change whose `updated_at` order key is past {@link latestUpdatedAt}):
 * Postgres cannot store years 0 or 10000, and a far-future `updatedAt` would freeze its slot.
 */
export function slotTimeBounds(now: number, retentionDays: number): SlotTimeBounds {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const ahead = new Date(today);
  ahead.setUTCFullYear(ahead.getUTCFullYear() + START_AHEAD_YEARS);
  return {
    earliestStart: today - (retentionDays + 1) * DAY_MS,
    latestStart: ahead.getTime() + 2 * DAY_MS - 1,
    earliestUpdatedAt: 0,
    latestUpdatedAt: latestUpdatedAt(now),
  };
}

/** Whether an ISO 8601 start (with its offset) parses and lies within `bounds`. */
export function startWithin(bounds: SlotTimeBounds, localDateTimeStart: string): boolean {
  const instant = Date.parse(localDateTimeStart);
  return instant >= bounds.earliestStart && instant <= bounds.latestStart;
}

/** Whether an ISO 8601 `updatedAt` parses and lies within `bounds`. */
export function updatedAtWithin(bounds: SlotTimeBounds, updatedAt: string): boolean {
  const instant = Date.parse(updatedAt);
  return instant >= bounds.earliestUpdatedAt && instant <= bounds.latestUpdatedAt;
}

import { startWithin, type SlotTimeBounds } from '@octo-sync/jobs';
import type { OctoSlot } from '@octo-sync/octo';
import type { SnapshotSlot } from '@octo-sync/db';
import { startsAtOf } from './slot-start';

/** A range of local dates, `YYYY-MM-DD`, both included. */
export interface LocalWindow {
  from: string;
  to: string;
}

/** Today in `timeZone` (UTC when the product names none, or one Node does not know). */
function localToday(timeZone: string | null, now: Date): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: timeZone ?? 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  } catch (error: unknown) {
    if (error instanceof RangeError) return now.toISOString().slice(0, 10);
    throw error;
  }
}

/** `date` plus `days`, as a local date. */
function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/** What narrows a pull's window: a refresh's dates, or a tier's days counted from the local today. */
export interface WindowNarrowing {
  from?: string | undefined;
  to?: string | undefined;
  days?: { from: number; to: number } | undefined;
}

/**
 * Today to today + `daysAhead` in the product's time zone, narrowed by a refresh's dates; a
 * tier's days are counted from today in that time zone, so each zone asks for its own dates.
 */
export function pullWindow(timeZone: string | null, daysAhead: number, now: Date, narrow: WindowNarrowing = {}): LocalWindow {
  const today = localToday(timeZone, now);
  if (narrow.days !== undefined) return { from: addDays(today, narrow.days.from), to: addDays(today, narrow.days.to) };
  return { from: narrow.from ?? today, to: narrow.to ?? addDays(today, daysAhead) };
}

/**
 * The window a target is asked for: one per time zone and dates asked, so every option of a zone
 * asks for the same dates (and every currency of an option the same as its first).
 */
export type WindowOf = (target: { timeZone: string | null } & WindowNarrowing) => LocalWindow;

/** Windows of one pull run, from its start time; `daysAhead`: the integration's whole window. */
export function windowResolver(daysAhead: number, now = new Date()): WindowOf {
  const windows = new Map<string, LocalWindow>();
  return (target) => {
    const key = JSON.stringify([target.timeZone, target.from ?? null, target.to ?? null, target.days ?? null]);
    const window = windows.get(key) ?? pullWindow(target.timeZone, daysAhead, now, target);
    windows.set(key, window);
    return window;
  };
}

/** A snapshot slot as the database takes it; the UTC instant comes from the local start and its offset. */
export function toSnapshotSlot(slot: OctoSlot): SnapshotSlot {
  return {
    availability_id: slot.id,
    local_date_time_start: slot.localDateTimeStart,
    starts_at: startsAtOf(slot.localDateTimeStart),
    status: slot.status,
    vacancies: slot.vacancies,
    capacity: slot.capacity,
    raw: slot.raw,
  };
}

/**
 * An answer's slots as the database takes them, less those whose start lies outside `bounds`
 * (the times a slot can carry: Postgres cannot store some, the prune would delete others at once).
 * Pull answers never pass the gateway's validation, so the same rule is applied here; a start
 * that does not parse is kept, as text with no instant.
 */
export function storableSlots(slots: readonly OctoSlot[], bounds: SlotTimeBounds): { slots: SnapshotSlot[]; dropped: number } {
  const kept = slots.filter((slot) => slot.localDateTimeStart === null || Number.isNaN(Date.parse(slot.localDateTimeStart)) || startWithin(bounds, slot.localDateTimeStart));
  return { slots: kept.map(toSnapshotSlot), dropped: slots.length - kept.length };
}

/** The receive key of an answer that arrived at `epochMs` (µs × 1000, as the gateway's keys). */
export function answerKeyOf(epochMs: number): bigint {
  return BigInt(Math.round(epochMs * 1000)) * 1000n;
}

/**
 * Runs `fn` over `items`, at most `limit` at once; stops taking items after the first failure,
 * and throws it once every call under way has ended: an answer already asked for is still handed
 * in (and written), and no call of this attempt goes on after it gave up (a run that yields its
 * worker slot calls nothing more until its job comes back).
 */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error: unknown) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure !== undefined) throw failure.error;
}

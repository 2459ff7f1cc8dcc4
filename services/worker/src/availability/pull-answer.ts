import type { OptionSnapshot, RunWarning, SameAnswer, SnapshotSlot } from '@octo-sync/db';
import type { SlotTimeBounds } from '@octo-sync/jobs';
import { parseAvailability, type FetchedAvailability } from '@octo-sync/octo';
import { storableSlots, type LocalWindow } from './pull-window';

/** Which answer a pull took: its option, its window, and its place on the receive time line. */
export interface AnswerScope extends LocalWindow {
  productId: string;
  optionId: string;
  answerKey: bigint;
}

/**
 * An answer with the bytes of its option's pull mark over the same window, left unparsed: the
 * writer confirms it by moving the mark, or, when the window changed since, parses it (`parse`)
 * and reconciles it as any other.
 */
export interface UnparsedAnswer {
  same: SameAnswer;
  /** Bytes held until the answer is written. */
  bytes: number;
  /** The answer as a snapshot; undefined when it fails as an option (a run warning, as any answer's). */
  parse(): OptionSnapshot | undefined;
}

/**
 * Parses one option's answer into the snapshot the database reconciles. Slots whose start cannot
 * be stored are left out, with one run warning for the option; so are slots whose raw cannot be
 * kept as sent, each named, and kept listed (held) so that the stored slot is not closed. The
 * answer's digest goes with it only when the next answer with the same bytes may be confirmed by
 * them (see {@link confirmable}).
 */
export function snapshotOf(scope: AnswerScope, fetched: Pick<FetchedAvailability, 'body' | 'digest'>, bounds: SlotTimeBounds, warnings: RunWarning[]): OptionSnapshot {
  const answer = parseAvailability(fetched.body);
  const storable = storableSlots(answer.slots, bounds);
  if (storable.dropped > 0) {
    const reason = `${storable.dropped} slot(s) dropped: localDateTimeStart outside today minus AVAILABILITY_RETENTION_DAYS to today plus 2 years`;
    warnings.push({ product_id: scope.productId, path: `options.${scope.optionId}.availability`, reason });
  }
  for (const slot of answer.held) {
    const reason = `slot not taken, the stored one left as it was: ${slot.paths.join(', ')} cannot be kept exactly (beyond the range or precision of a double)`;
    warnings.push({ product_id: scope.productId, path: `options.${scope.optionId}.availability.${slot.id}`, reason });
  }
  const snapshot: OptionSnapshot = { ...scope, slots: storable.slots, held: answer.held.map((slot) => slot.id) };
  return storable.dropped === 0 && answer.held.length === 0 && confirmable(storable.slots, scope) ? { ...snapshot, digest: fetched.digest } : snapshot;
}

const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Whether every slot lies in the window (its local start's date part, as the database's window
 * rule `inWindow` reads it): the check that confirms a later answer with the same bytes compares
 * the window's stored slots with what the answer listed, so a slot outside it (or without a
 * start) could never match, and a write to it would go unseen.
 */
function confirmable(slots: readonly SnapshotSlot[], window: LocalWindow): boolean {
  return slots.every((slot) => {
    const date = slot.local_date_time_start?.slice(0, 10);
    return date !== undefined && LOCAL_DATE.test(date) && date >= window.from && date <= window.to;
  });
}

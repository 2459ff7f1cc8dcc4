import type { OptionSnapshot, PullTarget, RunWarning, SameAnswer, SnapshotSlot } from '@octo-sync/db';
import type { SlotTimeBounds } from '@octo-sync/jobs';
import { isSupplierError, parseAvailability, type FetchedAvailability, type HeldSlot, type ParsedAvailability } from '@octo-sync/octo';
import { priceRowsOf, type CurrencyTally } from './pull-currencies';
import { storableSlots, type LocalWindow } from './pull-window';

/** Which answer a pull took: its option, its window, and its place on the receive time line. */
export interface AnswerScope extends LocalWindow {
  productId: string;
  optionId: string;
  answerKey: bigint;
  /** The currency the answer was asked in; absent: none. */
  currency?: string;
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
 * kept as sent, each named, and kept listed (held) so that the stored slot is not closed, and
 * slots whose id cannot be stored, each named (no stored slot has such an id to close). The
 * answer's digest goes with it only when the next answer with the same bytes may be confirmed by
 * them (see {@link confirmable}). Asked in a currency, it carries its slots' prices in it, unless
 * the supplier priced in another (`tally` judges): then no prices, and no digest either, so that
 * the next answer is judged again rather than confirmed by its bytes.
 */
export function snapshotOf(scope: AnswerScope, fetched: Pick<FetchedAvailability, 'body' | 'digest'>, bounds: SlotTimeBounds, warnings: RunWarning[], tally?: CurrencyTally): OptionSnapshot {
  const answer = parseAvailability(fetched.body);
  const storable = storableSlots(answer.slots, bounds);
  if (storable.dropped > 0) {
    const reason = `${storable.dropped} slot(s) dropped: localDateTimeStart outside today minus AVAILABILITY_RETENTION_DAYS to today plus 2 years`;
    warnings.push({ product_id: scope.productId, path: `options.${scope.optionId}.availability`, reason });
  }
  warnHeldBack(scope, answer, warnings);
  const prices = scope.currency === undefined || tally === undefined ? undefined : priceRowsOf(scope, scope.currency, storable.slots, tally);
  const snapshot: OptionSnapshot = { ...scope, slots: storable.slots, held: answer.held.map((slot) => slot.id), ...(Array.isArray(prices) ? { prices } : {}) };
  return prices !== 'ignored' && storable.dropped === 0 && answer.held.length === 0 && answer.dropped.length === 0 && confirmable(storable.slots, scope) ? { ...snapshot, digest: fetched.digest } : snapshot;
}

/** One run warning per slot of the answer held back or dropped for what it holds. */
function warnHeldBack(scope: AnswerScope, answer: ParsedAvailability, warnings: RunWarning[]): void {
  const path = (id: string) => `options.${scope.optionId}.availability.${id}`;
  for (const slot of answer.held) warnings.push({ product_id: scope.productId, path: path(slot.id), reason: `slot not taken, the stored one left as it was: ${heldReasons(slot).join('; ')}` });
  for (const id of answer.dropped) warnings.push({ product_id: scope.productId, path: path(id), reason: DROPPED_ID });
}

const DROPPED_ID = 'slot dropped: its id holds a NUL character, an unpaired UTF-16 surrogate or bytes that are not valid UTF-8, which cannot be stored (so no stored slot has it)';

/** Why a listed slot was held back: its inexact numbers, its unstorable text. */
function heldReasons(slot: HeldSlot): string[] {
  const inexact = slot.paths.length > 0 ? [`${slot.paths.join(', ')} cannot be kept exactly (beyond the range or precision of a double)`] : [];
  return [...inexact, ...slot.unstorable];
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

/** Failures that concern one option's answer, not the supplier as a whole (auth, address, outages). */
const PER_OPTION_CODES = new Set(['SUPPLIER_HTTP_ERROR', 'AVAILABILITY_INVALID', 'SUPPLIER_BODY_TOO_LARGE']);

/**
 * One option the supplier refused for good (an unknown product, an answer that is not an
 * availability array) is listed in the run and the others go on; anything else fails the attempt.
 */
export function optionFailure(error: unknown, target: PullTarget, warnings: RunWarning[]): undefined {
  if (!isSupplierError(error) || !PER_OPTION_CODES.has(error.code)) throw error;
  warnings.push({ product_id: target.productId, path: `options.${target.optionId}`, reason: `${error.code}: ${error.message}` });
  return undefined;
}

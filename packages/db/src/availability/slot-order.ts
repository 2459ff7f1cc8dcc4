/*
 * How every writer of availability slots agrees, in one place (docs/architecture.md names it):
 *
 * - The lock order. Every statement that writes slot rows writes, and so locks, them in
 *   {@link slotLockOrder}: integration, then product, option and availability ids in byte order
 *   (`COLLATE "C"`), whatever the database's collation, and a transaction locks its slots in one
 *   such statement (a pull's upserts and closes together). Two writers therefore never hold
 *   slots the other waits for: pushes and pulls cannot deadlock on a database whose collation
 *   orders ids otherwise (`en_US`: 'a' < 'B'; bytes: 'B' < 'a').
 * - The ordering rule. A push is written only if it is newer than the slot's last change of its
 *   own source ({@link PUSH_IS_NEWER}, and {@link newerInSource} for two changes of one batch)
 *   and was received after the newest pull answer for the slot; a pull answer only if it was
 *   answered after every push and snapshot the slot applied ({@link snapshotIsNewer}).
 * - The window. Which slots a pull answer covers: those whose local date is in its window
 *   ({@link inWindow}), read in the window's months' partitions only; a pull reads no other slot
 *   of its option, and {@link confirmedAt} derives from the same windows when a slot was last confirmed.
 */

/** The `ORDER BY` list that is the slots' lock order, for rows aliased `alias`. */
export function slotLockOrder(alias: string): string {
  return `${alias}.integration_id, ${alias}.product_octo_id COLLATE "C", ${alias}.option_octo_id COLLATE "C", ${alias}.availability_id COLLATE "C"`;
}

/**
 * Whether the slot whose local start is `localStart` lies in the window `from`..`to` (local dates,
 * `YYYY-MM-DD`, both included): its local date is the date part of its start as the supplier
 * wrote it, and a slot without a start is in no window. Every statement that bounds slots by a
 * pull's window uses this expression; a scan of stored slots adds `windowMonths`
 * (slot-placement.ts), which prunes it to the partitions of the window's months.
 */
export function inWindow(localStart: string, from: string, to: string): string {
  return `left(${localStart}, 10) BETWEEN ${from} AND ${to}`;
}

/**
 * Whether a pull answered after `receivedKey` for the slot's option, with the slot's local date
 * (`localStart`'s date part) in its window (any of the option's marks: one per window): the push
 * is then older than what the supplier last said, even where that pull wrote nothing. Checked on the change (a new slot, or one whose
 * change carries its start) and again on the stored row, both in the push statement's snapshot:
 * a mark moved after it was taken is not seen, and the push may still apply. The pull's window
 * digest (pull-statements.ts, CONFIRM_SAME) makes the next answer reconcile such a slot.
 */
export function answeredSince(slot: string, localStart: string, receivedKey: string): string {
  return `EXISTS (SELECT 1 FROM availability_pull_marks m WHERE m.integration_id = ${slot}.integration_id
    AND m.product_octo_id = ${slot}.product_octo_id AND m.option_octo_id = ${slot}.option_octo_id
    AND m.answer_key > ${receivedKey} AND ${inWindow(localStart, 'm.date_from', 'm.date_to')})`;
}

/**
 * When the supplier last confirmed the slot `slot` as stored: the later of its last write
 * (`updated_at`) and the answer time of the newest of its option's pull marks whose window holds
 * the slot's local date (an answer that lists a slot as stored, or leaves it closed, confirms it
 * without writing it). Derived when read, so an unchanged pull writes no slot row.
 */
export function confirmedAt(slot: string): string {
  return `GREATEST(${slot}.updated_at, (SELECT to_timestamp(max(m.answer_key)::float8 / 1e9) FROM availability_pull_marks m
    WHERE m.integration_id = ${slot}.integration_id AND m.product_octo_id = ${slot}.product_octo_id
      AND m.option_octo_id = ${slot}.option_octo_id AND ${inWindow(`${slot}.local_date_time_start`, 'm.date_from', 'm.date_to')}))`;
}

/**
 * Whether push `excluded` may overwrite stored slot `t` (the push upsert's conflict condition).
 * Keys per source: sequence as sent, updatedAt with the receive key as tie-breaker (equal seconds
 * apply in arrival order), receive keys alone. Whatever its source, a push received before the
 * newest pull snapshot was answered is older than that snapshot: the slot's own `last_snapshot`,
 * or its option's pull mark when the slot is in that pull's window.
 */
export const PUSH_IS_NEWER = `(t.last_snapshot IS NULL OR t.last_snapshot < excluded.last_push_received)
  AND NOT ${answeredSince('t', 't.local_date_time_start', 'excluded.last_push_received')} AND CASE excluded.order_source
  WHEN 'sequence' THEN t.last_sequence IS NULL OR t.last_sequence < excluded.last_sequence
  WHEN 'updated_at' THEN t.last_updated_at_ms IS NULL
    OR (t.last_updated_at_ms, t.last_updated_at_received) < (excluded.last_updated_at_ms, excluded.last_updated_at_received)
  ELSE t.last_received IS NULL OR t.last_received < excluded.last_received
END`;

/** Whether a pull answered at `answerKey` is newer than every push and snapshot stored slot `slot` applied. */
export function snapshotIsNewer(slot: string, answerKey: string): string {
  return `(${slot}.last_push_received IS NULL OR ${slot}.last_push_received < ${answerKey})
  AND (${slot}.last_snapshot IS NULL OR ${slot}.last_snapshot < ${answerKey})`;
}

/** A push's keys as {@link newerInSource} compares them (decimal strings: they exceed 2^53). */
export interface PushKeys {
  order_key: string;
  order_source: string;
  received_key: string;
}

/**
 * {@link PUSH_IS_NEWER}'s rule within one source, for two changes of one batch: whether `a` is
 * newer than `b` (a batch keeps only the newest of a run of one source's changes to a slot).
 */
export function newerInSource(a: PushKeys, b: PushKeys): boolean {
  const byKey = BigInt(a.order_key) - BigInt(b.order_key);
  if (byKey !== 0n || a.order_source !== 'updated_at') return byKey > 0n;
  return BigInt(a.received_key) > BigInt(b.received_key);
}

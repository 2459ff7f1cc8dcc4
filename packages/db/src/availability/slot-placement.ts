import { slotLockOrder } from './slot-order';

/*
 * Where a slot's row lives in the partitioned `availability_slots` (docs/architecture.md, "Slots
 * are partitioned by month"), in one place that every slot writer includes:
 *
 * - A slot has one row, in the partition of its local start's month (the undated partition while
 *   it has no start). Its `slot_date` is the date it was first stored with there and is never
 *   updated: a start that moves within the month updates the row where it is.
 * - The key is (integration, option_key, availability id, slot_date), so a write must name the
 *   stored row's slot_date to meet it: {@link keyDate} finds it in one partition (the start's
 *   month) for a change with a start, and among every live partition for a change without one.
 * - A change that moves a start to another month first moves the row there ({@link relocate}):
 *   the old row is deleted and the same row inserted with the new date, in the writer's
 *   transaction and only where the change will apply, so the write that follows updates it in
 *   place and the feed sees one slot changing.
 */

/** The stored row of slot `r` (with `integration_id`, `option_key`, `availability_id`) in the partition of `month`'s date. */
function inMonthOf(r: string, date: string): string {
  return `s.integration_id = ${r}.integration_id AND s.option_key = ${r}.option_key AND s.availability_id = ${r}.availability_id
    AND s.slot_date >= slot_month(${date}) AND s.slot_date < slot_next_month(${date})`;
}

/**
 * The `slot_date` a write of slot `r` must name: its stored row's, or for a new slot the date of
 * its start (`slot_date_of`, 'infinity' without one). A change with a start probes the one
 * partition of its month first (where {@link relocate} moved its row if the change applies);
 * when that misses (a new slot, a change without a start, or a move that does not apply) every
 * live partition is probed, one index probe each, so the write meets the stored row's key (and
 * its ordering check) wherever it is.
 */
export function keyDate(r: string): string {
  return `COALESCE(
    CASE WHEN ${r}.local_date_time_start IS NOT NULL THEN (SELECT s.slot_date FROM availability_slots s
      WHERE ${inMonthOf(r, `slot_date_of(${r}.local_date_time_start)`)}) END,
    (SELECT s.slot_date FROM availability_slots s WHERE s.integration_id = ${r}.integration_id AND s.option_key = ${r}.option_key
      AND s.availability_id = ${r}.availability_id LIMIT 1),
    slot_date_of(${r}.local_date_time_start))`;
}

/** Every column of a slot row but `slot_date`, in one order (what {@link relocate} copies). */
const ROW_COLUMNS = `integration_id, option_key, product_octo_id, option_octo_id, availability_id, local_date_time_start, starts_at,
  status, vacancies, capacity, order_key, order_source, last_sequence, last_updated_at_ms, last_updated_at_received, last_received,
  last_push_received, last_snapshot, removed_at, raw, content_hash, content_changed, created_at, updated_at`;

/**
 * The statement that finds (and locks, in the slots' lock order) the stored rows of the changes in
 * CTE `changes` (columns of a slot row: at least `integration_id`, `option_key`, `availability_id`,
 * `local_date_time_start`, and what `applies` reads of them, as `excluded`) whose start is in
 * another month than their row, where `applies` (over stored row `t` and change `excluded`) says
 * the change will be written; {@link relocate} moves them. `ctes` are the statement's leading
 * CTEs, which define `changes`.
 */
export function movingRows(ctes: string, applies: string): string {
  return `WITH ${ctes}, elsewhere AS MATERIALIZED (
  SELECT * FROM changes x WHERE x.local_date_time_start IS NOT NULL
    AND (SELECT 1 FROM availability_slots s WHERE ${inMonthOf('x', 'slot_date_of(x.local_date_time_start)')} LIMIT 1) IS NULL
)
SELECT t.integration_id, t.option_key::text AS option_key, t.availability_id, t.slot_date::text AS slot_date,
  slot_date_of(excluded.local_date_time_start)::text AS new_date
-- Scalar probes and an OFFSET 0 subquery: one index probe per change and partition, never a join
-- over the integration's slots (the planner cannot tell how few changes move).
FROM elsewhere excluded CROSS JOIN LATERAL (SELECT * FROM availability_slots t WHERE t.integration_id = excluded.integration_id
  AND t.option_key = excluded.option_key AND t.availability_id = excluded.availability_id OFFSET 0) t
WHERE ${applies}
ORDER BY ${slotLockOrder('t')}
FOR UPDATE OF t`;
}

// $1: the rows movingRows found (locked by this transaction): each is deleted and inserted again,
// as it is, with its new slot_date.
const MOVE_ROWS = `
WITH m AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS m(integration_id uuid, option_key bigint, availability_id text, slot_date date, new_date date)),
moved AS (
  DELETE FROM availability_slots t USING m WHERE t.integration_id = m.integration_id AND t.option_key = m.option_key
    AND t.availability_id = m.availability_id AND t.slot_date = m.slot_date
  RETURNING t.*, m.new_date
)
INSERT INTO availability_slots (${ROW_COLUMNS}, slot_date) SELECT ${ROW_COLUMNS}, new_date FROM moved`;

/**
 * Moves the rows `find` (a {@link movingRows} statement, with `values`) finds to their new month,
 * on `query` (the writer's transaction): a second statement only when a row moves, so a write whose
 * starts stay in their months costs one statement that reads no row.
 */
export async function relocate(query: (sql: string, values: readonly unknown[]) => Promise<unknown[]>, find: string, values: readonly unknown[]): Promise<void> {
  const moving = await query(find, values);
  if (moving.length > 0) await query(MOVE_ROWS, [JSON.stringify(moving)]);
}

/** Which stored slots `c` may be in window `from`..`to` by their partition (add `inWindow` for the exact dates): prunes the scan to the window's months. */
export function windowMonths(c: string, from: string, to: string): string {
  return `${c}.slot_date >= slot_month(${from}::date) AND ${c}.slot_date < slot_next_month(${to}::date)`;
}

import { slotLockOrder } from './slot-order';

/*
 * Where a slot's row lives in the partitioned `availability_slots` (docs/architecture.md, "Slots
 * are partitioned by month"), in one place that every slot writer includes:
 *
 * - A slot has one row, in the partition of its local start's month (the undated partition while
 *   it has no start). Its `slot_date` is the date it was first stored with there and is never
 *   updated: a start that moves within the month updates the row where it is.
 * - The key is (integration, option_key, availability id, slot_date), so a write must name the
 *   stored row's slot_date to meet it; Postgres checks that key per partition only. The slot's
 *   identity without slot_date has one row in the unpartitioned `slot_ids`, which names where the
 *   slot is (a trigger keeps it as rows are inserted and moved): every writer upserts it first
 *   ({@link upsertSlotIds}), which serialises writers of one slot whatever months they name.
 * - A write meets the stored row where it is, and its ordering check decides there; a row whose
 *   start it moved to another month (or an undated slot that got a start) is then moved to that
 *   month ({@link moveMisplaced}): deleted and inserted again as written, with the new
 *   slot_date, in the writer's transaction, which already holds its lock. The feed saw the write,
 *   one slot changing; the move is not content.
 */

/**
 * Upserts the slot_ids rows (migration `…_slot_ids`) of the slots that `source` (rows with
 * `integration_id`, `option_key`, `product_octo_id`, `option_octo_id`, `availability_id`,
 * `local_date_time_start`) writes, in the slots' lock order (slot-order.ts), and returns each
 * one's stored `slot_date`: a new slot's is its start's date (`slot_date_of`, 'infinity' without
 * one). The first step of every slot write: the conflict locks each slot's id row (and writes it
 * again, so that RETURNING gives the row as another writer committed it, not as this statement's
 * snapshot saw it), so two first writes of one slot, and a write racing a move, serialise on the
 * id's unique key and meet one stored row; and finding that row is one probe of slot_ids, not one
 * per live partition.
 */
export function upsertSlotIds(source: string): string {
  return `INSERT INTO slot_ids AS i (integration_id, option_key, availability_id, slot_date)
  SELECT r.integration_id, r.option_key, r.availability_id, slot_date_of(r.local_date_time_start) FROM ${source} r ORDER BY ${slotLockOrder('r')}
  ON CONFLICT (integration_id, option_key, availability_id) DO UPDATE SET slot_date = i.slot_date
  RETURNING i.integration_id, i.option_key, i.availability_id, i.slot_date`;
}

/** The stored `slot_date` of slot `r` (its slot_ids row, which {@link upsertSlotIds} locked earlier in the transaction). */
export function keyDate(r: string): string {
  return `(SELECT i.slot_date FROM slot_ids i WHERE i.integration_id = ${r}.integration_id AND i.option_key = ${r}.option_key
    AND i.availability_id = ${r}.availability_id)`;
}

/**
 * Creates the option keys (`slot_options`) that slot rows `$1` ([{integration_id, product_octo_id,
 * option_octo_id}]) need and that do not exist yet, in one short statement of its own before the
 * slot transaction, in byte order: two writers creating keys never wait on each other in opposite
 * orders, and no slot transaction holds a new key's index entry while it writes its slots. The
 * slot statements then only read the keys ({@link optionKeyOf}).
 */
export const ENSURE_OPTION_KEYS = `
INSERT INTO slot_options (integration_id, product_octo_id, option_octo_id)
SELECT d.* FROM (SELECT DISTINCT r.integration_id, r.product_octo_id, r.option_octo_id
  FROM jsonb_to_recordset($1::jsonb) AS r(integration_id uuid, product_octo_id text, option_octo_id text)
  WHERE NOT EXISTS (SELECT 1 FROM slot_options o WHERE o.integration_id = r.integration_id AND o.product_octo_id = r.product_octo_id
    AND o.option_octo_id = r.option_octo_id)) d
ORDER BY d.integration_id, d.product_octo_id COLLATE "C", d.option_octo_id COLLATE "C"
ON CONFLICT DO NOTHING`;

/** The option key of row `r` (its product_octo_id, option_octo_id, of `integration`), created before by {@link ENSURE_OPTION_KEYS}. */
export function optionKeyOf(r: string, integration = `${r}.integration_id`): string {
  return `(SELECT o.option_key FROM slot_options o WHERE o.integration_id = ${integration} AND o.product_octo_id = ${r}.product_octo_id
    AND o.option_octo_id = ${r}.option_octo_id)`;
}

/** Every column of a slot row but `slot_date`, in one order (what a move copies). */
const ROW_COLUMNS = `integration_id, option_key, product_octo_id, option_octo_id, availability_id, local_date_time_start, starts_at,
  status, vacancies, capacity, order_key, order_source, last_sequence, last_updated_at_ms, last_updated_at_received, last_received,
  last_push_received, last_snapshot, removed_at, raw, content_hash, content_changed, created_at, updated_at`;

/**
 * What a slot statement returns, beside the feed's columns, to place the rows it wrote
 * ({@link moveMisplaced}): the key, and `new_date` where the row's start is no longer in its
 * partition's month (its start moved to another month, or an undated slot got one), else null.
 */
export const PLACEMENT_SQL = `t.option_key::text AS option_key, t.slot_date::text AS slot_date,
  CASE WHEN slot_month(t.slot_date) IS DISTINCT FROM slot_month(slot_date_of(t.local_date_time_start))
    THEN slot_date_of(t.local_date_time_start)::text END AS new_date`;

/** A written row as {@link PLACEMENT_SQL} returns it. */
export interface Placement {
  integration_id: string;
  option_key: string;
  availability_id: string;
  slot_date: string;
  new_date: string | null;
}

// $1: the misplaced rows, written (so locked) by this transaction: each is deleted and inserted
// again, as it is, with its new slot_date.
const MOVE_ROWS = `
WITH m AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS m(integration_id uuid, option_key bigint, availability_id text, slot_date date, new_date date)),
moved AS (
  DELETE FROM availability_slots t USING m WHERE t.integration_id = m.integration_id AND t.option_key = m.option_key
    AND t.availability_id = m.availability_id AND t.slot_date = m.slot_date
  RETURNING t.*, m.new_date
)
INSERT INTO availability_slots (${ROW_COLUMNS}, slot_date) SELECT ${ROW_COLUMNS}, new_date FROM moved`;

/**
 * Moves the rows a slot statement just wrote whose start left their partition's month (`written`,
 * with {@link PLACEMENT_SQL}) to their new month, on `query` (the writer's transaction, which holds
 * their locks): a statement only when one moved.
 */
export async function moveMisplaced(query: (sql: string, values: readonly unknown[]) => Promise<unknown>, written: readonly Placement[]): Promise<void> {
  const misplaced = written.filter((row) => row.new_date !== null);
  if (misplaced.length > 0) await query(MOVE_ROWS, [JSON.stringify(misplaced.map(({ integration_id, option_key, availability_id, slot_date, new_date }) => ({ integration_id, option_key, availability_id, slot_date, new_date })))]);
}

/** Which stored slots `c` may be in window `from`..`to` by their partition (add `inWindow` for the exact dates): prunes the scan to the window's months. */
export function windowMonths(c: string, from: string, to: string): string {
  return `${c}.slot_date >= slot_month(${from}::date) AND ${c}.slot_date < slot_next_month(${to}::date)`;
}

/**
 * Which stored slots `c` may start within instants `from`..`to` (timestamptz parameters, either
 * null for no bound) by their partition: the months of the local dates from `from`'s UTC date
 * minus one day to `to`'s plus one (a local date is within a day of its UTC date, whatever the
 * offset); a bounded read skips the undated partition (no start, so in no range). Add the exact
 * `starts_at` bounds: this only prunes the scan to those months.
 */
export function startMonths(c: string, from: string, to: string): string {
  return `(${from}::timestamptz IS NULL OR ${c}.slot_date >= slot_month((${from}::timestamptz AT TIME ZONE 'UTC')::date - 1))
  AND (${to}::timestamptz IS NULL OR ${c}.slot_date < slot_next_month((${to}::timestamptz AT TIME ZONE 'UTC')::date + 1))
  AND ((${from}::timestamptz IS NULL AND ${to}::timestamptz IS NULL) OR ${c}.slot_date < 'infinity')`;
}

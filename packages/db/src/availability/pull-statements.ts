import { WRITTEN_SLOT_SQL } from '../feed/change-outbox';
import { answeredSince, inWindow, slotLockOrder, snapshotIsNewer } from './slot-order';
import { optionKeyOf, PLACEMENT_SQL, upsertSlotIds, windowMonths } from './slot-placement';

/*
 * The statements of an availability pull (AvailabilityPullStore calls them): reconciling answers
 * with the stored slots of their windows, the pull marks that order them against pushes, and
 * confirming an answer the same as the last by its mark alone. Which slots a window holds, and
 * the order slots are locked in, are slot-order.ts's: these statements include them.
 */

// A listed slot as an answer carries it, and the columns slot_content_hash reads of it (in the
// order the slots' trigger passes them).
const SNAPSHOT_SLOT = `availability_id text, local_date_time_start text, starts_at timestamptz, status text, vacancies integer,
  capacity integer, raw jsonb`;
const SLOT_CONTENT = 'r.local_date_time_start, r.status, r.vacancies, r.capacity, r.raw';

// A window's state as one value, aggregated over its open slots (`id`, `hash`: each slot's id and
// content hash): SHA-256 of their [id, hash] pairs sorted by id in byte order, so the answer's
// slots and the stored ones give the same value in whatever order they are read; json keeps any
// id unambiguous. An empty window has a digest too.
function windowDigest(id: string, hash: string): string {
  return sha256Hex(`coalesce(json_agg(json_build_array(${id}, ${hash}) ORDER BY ${id} COLLATE "C")::text, '[]')`);
}
const sha256Hex = (text: string): string => `encode(sha256(convert_to(${text}, 'UTF8')), 'hex')`;
/** windowDigest of no slots (the aggregate over no rows). */
const EMPTY_WINDOW_DIGEST = sha256Hex(`'[]'`);

// The answers ($2) with their option's key (created before the run's transaction by the pull
// handler, AvailabilityStore.ensureOptionKeys: read here; slot_option_key creates one only for a
// caller that did not), and each option's stored window (its slots whose
// local date is in the window, read in the window's months only: slot-placement.ts), in a LATERAL
// subquery that OFFSET 0 keeps apart, so the window is one range scan per option and partition,
// never a join over every slot of the integration. $3 and $4 are the first and last dates of all
// the answers' windows: as parameters the planner prunes the partitions outside them before the
// statement runs (a bound from a row of `s` alone prunes only at run time, if at all, and costs a
// date computation per row read).
const ANSWERS = `s AS MATERIALIZED (
  SELECT s.*, COALESCE(${optionKeyOf('s', '$1::uuid')}, slot_option_key($1::uuid, s.product_octo_id, s.option_octo_id)) AS option_key
  FROM jsonb_to_recordset($2::jsonb) AS s(product_octo_id text, option_octo_id text, answer_key bigint,
    date_from text, date_to text, listed text[], slots jsonb, currency text, digest text, slot_count integer)
)`;
const STORED_WINDOW = (columns: string) => `(SELECT ${columns} FROM availability_slots c
    WHERE c.integration_id = $1::uuid AND c.option_key = s.option_key AND ${windowMonths('c', '$3', '$4')}
      AND ${inWindow('c.local_date_time_start', 's.date_from', 's.date_to')} OFFSET 0)`;
// Each listed slot with the stored row of its window it meets, if any, and its content hash
// (slot_content_hash, the function the slots' trigger stores: one owner of what content is),
// computed once: the reconcile compares it with the stored one, the mark's window digest is made of it.
const LISTED = `listed AS MATERIALIZED (SELECT l.* FROM s CROSS JOIN LATERAL (
    SELECT r.*, slot_content_hash(${SLOT_CONTENT}) AS content_hash, s.product_octo_id, s.option_octo_id, s.option_key, s.answer_key,
      s.date_from, s.date_to, c.availability_id IS NOT NULL AS found, c.slot_date AS stored_date, c.content_hash AS stored_hash,
      c.removed_at AS stored_removed_at
    FROM jsonb_to_recordset(s.slots) AS r(${SNAPSHOT_SLOT})
    LEFT JOIN ${STORED_WINDOW('c.availability_id, c.slot_date, c.content_hash, c.removed_at')} c ON c.availability_id = r.availability_id) l)`;

// The same windows, kept per option and window as the newest answer over it (a narrowed refresh's
// mark stands beside the tier window's; PRUNE_MARKS, pull-marks.ts, drops those that decide
// nothing any more): the slot upsert of a push refuses a change received before it for a slot in
// its window (see AvailabilityStore), also where this pull wrote nothing. With the answer's
// digest and the currency it was asked in (null: none), what it listed, and the window as the answer says it is
// (window_digest: its listed slots' ids and content hashes, windowDigest above, over `listed`),
// computed from the answer, never read from the stored slots: a push that commits after the
// reconcile's snapshot, or after a confirmation whose snapshot it missed, is then a difference the
// next CONFIRM_SAME sees. A part of RECONCILE_SNAPSHOT, so the answers are parsed and each listed
// slot hashed once per pull: a CTE its INSERT does not read, which Postgres runs to completion after
// the slot upsert (marks are locked after slots, as when it was a statement of its own, and only
// under the options' LOCK_OPTION_MARKS locks). The reconcile's `answeredSince` reads the
// statement's snapshot, so it never sees the marks written here. An older answer never
// moves a window's mark back (the conflict clause); a mark of another window may be older, and
// then decides nothing the newer one covers.
const MARK_ANSWERED = `digests AS (
  SELECT l.product_octo_id, l.option_octo_id, l.date_from, l.date_to, ${windowDigest('l.availability_id', 'l.content_hash')} AS window_digest
  FROM listed l GROUP BY l.product_octo_id, l.option_octo_id, l.date_from, l.date_to
), marked AS (
INSERT INTO availability_pull_marks AS t (integration_id, product_octo_id, option_octo_id, date_from, date_to, answer_key,
  currency, digest, slot_count, window_digest)
SELECT $1::uuid, s.product_octo_id, s.option_octo_id, s.date_from, s.date_to, s.answer_key, s.currency, s.digest, s.slot_count,
  CASE WHEN s.digest IS NOT NULL THEN COALESCE(d.window_digest, ${EMPTY_WINDOW_DIGEST}) END
FROM s LEFT JOIN digests d ON d.product_octo_id = s.product_octo_id AND d.option_octo_id = s.option_octo_id
  AND d.date_from = s.date_from AND d.date_to = s.date_to
ORDER BY s.product_octo_id COLLATE "C", s.option_octo_id COLLATE "C"
ON CONFLICT (integration_id, product_octo_id, option_octo_id, date_from, date_to) DO UPDATE SET
  answer_key = excluded.answer_key, currency = excluded.currency, digest = excluded.digest, slot_count = excluded.slot_count,
  window_digest = excluded.window_digest
WHERE t.answer_key < excluded.answer_key)`;

// $1 integration, $2 the snapshots: [{product_octo_id, option_octo_id, answer_key, date_from, date_to,
// listed, slots: [...], digest, currency, slot_count}]; a window is of local dates (slot-order.ts's
// inWindow). It also writes the answers' marks (MARK_ANSWERED). One statement writes both kinds of slot row, so they are locked in the one lock order (slot-order.ts), never the
// listed ones first and the closed ones after. It reads only the option's slots of the window
// (STORED_WINDOW), however many the option stores outside it:
// - listed slots, written only when no newer push or snapshot holds them and their content hash
//   (slot_content_hash, the function the slots' trigger stores: one owner of what content is)
//   differs from the stored one, or they were closed. The first branch leaves out, before the
//   insert, the listed slots stored in the window as listed already, so a pull that finds nothing
//   new neither writes nor locks such a row. Every row to write first locks its slot_ids row
//   (`ids`, upsertSlotIds: slot-placement.ts), which names where the slot is stored now, as
//   committed, whatever this statement's snapshot read: a listed slot stored outside the window or
//   without a start, or one a push moved meanwhile, meets its stored row there; the upsert's
//   conflict clause compares it with that row, which it locks, and writes it only if it differs
//   (a row whose start it moved to another month then moves there: moveMisplaced);
// - open stored slots of the window the answer no longer lists, closed (removed_at set) with their
//   content kept as it is once locked. An undated slot is in no window: a pull never closes it.
// Neither kind is written where a newer answer of another flight (a pull of another scope) covers
// the slot's date (`answeredSince`, on the option's marks): pulls of other flights that write an
// option take turns (LOCK_OPTION_MARKS, pull-marks.ts), so this statement sees their marks, and an
// answer older than one already applied writes nothing there, even a slot the newer one left out.
// The conflict clause checks again on the row as it is once locked (a push may have written it);
// `excluded.content_hash` is the proposed row's, set by the slots' BEFORE INSERT trigger.
// A row is new if this transaction created it (a partitioned table has no xmax to tell).
export const RECONCILE_SNAPSHOT = `
WITH ${ANSWERS}, ${LISTED}, proposed AS (
  SELECT $1::uuid AS integration_id, r.option_key, r.product_octo_id, r.option_octo_id, r.availability_id, r.local_date_time_start,
    r.starts_at, r.status, r.vacancies, r.capacity, r.raw, r.answer_key, NULL::timestamptz AS removed_at, r.stored_date
  FROM listed r
  WHERE NOT r.found OR r.stored_removed_at IS NOT NULL OR r.stored_hash IS DISTINCT FROM r.content_hash
  UNION ALL
  SELECT c.integration_id, c.option_key, c.product_octo_id, c.option_octo_id, c.availability_id, c.local_date_time_start, c.starts_at,
    'CLOSED', c.vacancies, c.capacity, c.raw, s.answer_key, now(), c.slot_date
  FROM s CROSS JOIN LATERAL ${STORED_WINDOW('c.*')} c
  WHERE c.removed_at IS NULL AND NOT (c.availability_id = ANY(s.listed)) AND ${snapshotIsNewer('c', 's.answer_key')}
), w AS (SELECT * FROM proposed p WHERE NOT ${answeredSince('p', 'p.local_date_time_start', 'p.answer_key')}), ids AS (${upsertSlotIds('w')}),
${MARK_ANSWERED}
INSERT INTO availability_slots AS t (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, local_date_time_start,
  starts_at, status, vacancies, capacity, raw, order_key, order_source, last_received, last_snapshot, removed_at, updated_at)
SELECT w.integration_id, w.option_key, ids.slot_date, w.product_octo_id, w.option_octo_id, w.availability_id,
  w.local_date_time_start, w.starts_at, w.status, w.vacancies, w.capacity, w.raw, w.answer_key, 'received_at', w.answer_key, w.answer_key,
  w.removed_at, now()
FROM w JOIN ids ON ids.integration_id = w.integration_id AND ids.option_key = w.option_key AND ids.availability_id = w.availability_id
ORDER BY ${slotLockOrder('w')}
ON CONFLICT (integration_id, option_key, availability_id, slot_date) DO UPDATE SET
  local_date_time_start = CASE WHEN excluded.removed_at IS NULL THEN excluded.local_date_time_start ELSE t.local_date_time_start END,
  starts_at = CASE WHEN excluded.removed_at IS NULL THEN excluded.starts_at ELSE t.starts_at END,
  vacancies = CASE WHEN excluded.removed_at IS NULL THEN excluded.vacancies ELSE t.vacancies END,
  capacity = CASE WHEN excluded.removed_at IS NULL THEN excluded.capacity ELSE t.capacity END,
  raw = CASE WHEN excluded.removed_at IS NULL THEN excluded.raw ELSE t.raw END,
  status = excluded.status, order_key = excluded.order_key, order_source = excluded.order_source,
  last_received = excluded.last_received, last_snapshot = excluded.last_snapshot, removed_at = excluded.removed_at, updated_at = now()
WHERE ${snapshotIsNewer('t', 'excluded.last_snapshot')} AND CASE WHEN excluded.removed_at IS NULL
  THEN t.removed_at IS NOT NULL OR t.content_hash IS DISTINCT FROM excluded.content_hash
  ELSE t.removed_at IS NULL AND t.local_date_time_start IS NOT DISTINCT FROM excluded.local_date_time_start END
RETURNING t.created_at = now()::timestamptz(3) AS created, t.removed_at IS NOT NULL AS closed, ${WRITTEN_SLOT_SQL}, ${PLACEMENT_SQL}`;

// $2: [{product_octo_id, option_octo_id, answer_key, date_from, date_to, digest, currency?}], $3 and $4
// the first and last dates of their windows (partition pruning, as RECONCILE_SNAPSHOT's). An
// answer with the bytes and currency (null: none asked) of its option's mark over the same
// window moves that mark, and so confirms every slot of the window, if the window's open stored
// slots are exactly what the mark's answer said: the same ids with the same content hashes
// (window_digest, windowDigest over the stored content_hash). Then a full reconcile would write and close
// nothing, whoever wrote the slots since (a push, another pull): keys are not compared, and a
// push that slipped in under an older mark (its statement snapshot taken before a mark moved past
// its receive key, or its commit after a pull's reconcile read the window) makes the window differ,
// so the next answer is reconciled in full and the pull wins, as the ordering rule says. One range
// scan of the window per answer, its rows only read (the scan names the answer's `s` columns,
// equal to the mark's, so that it runs after the join: on the mark alone it would run for every
// mark of the integration).
export const CONFIRM_SAME = `
UPDATE availability_pull_marks AS m SET answer_key = s.answer_key
FROM jsonb_to_recordset($2::jsonb) AS s(product_octo_id text, option_octo_id text, answer_key bigint, date_from text, date_to text,
  digest text, currency text)
WHERE m.integration_id = $1::uuid AND m.product_octo_id = s.product_octo_id AND m.option_octo_id = s.option_octo_id
  AND m.digest = s.digest AND m.date_from = s.date_from AND m.date_to = s.date_to AND m.currency IS NOT DISTINCT FROM s.currency
  AND m.answer_key < s.answer_key
  AND m.window_digest = (SELECT ${windowDigest('c.availability_id', 'c.content_hash')}
    FROM slot_options o JOIN availability_slots c ON c.integration_id = o.integration_id AND c.option_key = o.option_key
    WHERE o.integration_id = m.integration_id AND o.product_octo_id = s.product_octo_id AND o.option_octo_id = s.option_octo_id
      AND ${windowMonths('c', '$3', '$4')} AND ${inWindow('c.local_date_time_start', 's.date_from', 's.date_to')}
      AND c.removed_at IS NULL)
RETURNING m.product_octo_id, m.option_octo_id, m.slot_count`;

export const ANSWER_DIGESTS = `
SELECT product_octo_id AS "productId", option_octo_id AS "optionId", date_from AS "from", date_to AS "to", digest, currency
FROM availability_pull_marks WHERE integration_id = $1::uuid AND digest IS NOT NULL`;

/*
 * Pruning the pull marks (`availability_pull_marks`, one per option and window): a targeted
 * refresh adds a mark of its own window beside the tier window's, and a tier window slides each
 * day, so an option gathers marks; those that no longer decide anything go as pulls write theirs.
 */

/** The options of $2, once each. */
const OPTIONS = `(SELECT DISTINCT product_octo_id, option_octo_id FROM jsonb_to_recordset($2::jsonb) AS r(product_octo_id text, option_octo_id text))`;

// $1 the integration, $2 [{product_octo_id, option_octo_id}]: the first statement of every pull
// write transaction takes a transaction-scoped advisory lock per option it writes, in one order
// (the keys sorted), before any row lock. Pulls of different flights (scopes) may write one option
// at once; this makes their transactions over an option take turns, so each statement of one sees
// all the other committed (its marks included: RECONCILE_SNAPSHOT refuses what a newer mark
// covers), and TRIM_MARKS and PRUNE_MARKS never race another pull's mark of the option. Pulls
// take these locks first, so they cannot deadlock with the slots' lock order; an identity move
// (key-transfer.ts) takes them before it moves an option's slots, holding by then only the
// integration's row lock and catalog rows, none of which a pull write waits for. The id is keyed
// as Postgres prints it, so every caller names an option's lock alike whatever its spelling.
export const LOCK_OPTION_MARKS = `
SELECT count(pg_advisory_xact_lock(k)) FROM (
  SELECT DISTINCT hashtextextended('pull-marks:' || $1::uuid::text || chr(1) || product_octo_id || chr(1) || option_octo_id, 0) AS k FROM ${OPTIONS} o
  ORDER BY k) keys`;

// $1 the integration, $2 as PRUNE_MARKS's. A tier window slides a day at a time, so yesterday's
// mark (D-1..D+n-1) is not covered whole by today's (D..D+n) and would stay until its window
// ended, one per day: a mark that a newer one overlaps from a date inside it to past its end is
// cut to the dates before that one (the newer mark answers for the rest), and no longer stands for
// an answer's bytes (its digest and window digest go). Skipped where the cut window has a mark.
export const TRIM_MARKS = `
UPDATE availability_pull_marks AS m SET date_to = c.date_to, digest = NULL, window_digest = NULL, slot_count = NULL
FROM (
  SELECT m.product_octo_id, m.option_octo_id, m.date_from, m.date_to AS old_to, (min(n.date_from)::date - 1)::text AS date_to
  FROM availability_pull_marks m JOIN ${OPTIONS} s ON m.product_octo_id = s.product_octo_id AND m.option_octo_id = s.option_octo_id
  JOIN availability_pull_marks n ON n.integration_id = m.integration_id AND n.product_octo_id = m.product_octo_id
    AND n.option_octo_id = m.option_octo_id AND n.answer_key > m.answer_key
    AND n.date_from > m.date_from AND n.date_from <= m.date_to AND n.date_to >= m.date_to
  WHERE m.integration_id = $1::uuid
  GROUP BY m.product_octo_id, m.option_octo_id, m.date_from, m.date_to
) c
WHERE m.integration_id = $1::uuid AND m.product_octo_id = c.product_octo_id AND m.option_octo_id = c.option_octo_id
  AND m.date_from = c.date_from AND m.date_to = c.old_to
  AND NOT EXISTS (SELECT 1 FROM availability_pull_marks x WHERE x.integration_id = m.integration_id
    AND x.product_octo_id = m.product_octo_id AND x.option_octo_id = m.option_octo_id AND x.date_from = m.date_from AND x.date_to = c.date_to)`;

// $1 the integration, $2 [{product_octo_id, option_octo_id}] the options whose marks a pull just
// wrote or moved, $3 a local date (`YYYY-MM-DD`). Of those options' marks, drops:
// - a mark whose window ended before $3 (today minus the retention, widened by a day: slotTimeBounds):
//   the slots it covers are pruned and the gateway refuses a change to them, so it guards nothing;
// - a mark whose window a newer mark covers whole: every push it refuses (received before it, for a
//   slot in its window) the newer one refuses too, and `confirmedAt` takes the newer one. A same-
//   bytes answer over the narrow window then reconciles in full, which writes only what differs.
// Under LOCK_OPTION_MARKS, like every mark write, so no two pulls prune an option's marks at once.
// After TRIM_MARKS, in the same transaction.
export const PRUNE_MARKS = `
DELETE FROM availability_pull_marks AS m
USING ${OPTIONS} s
WHERE m.integration_id = $1::uuid AND m.product_octo_id = s.product_octo_id AND m.option_octo_id = s.option_octo_id
  AND (m.date_to < $3::text OR EXISTS (SELECT 1 FROM availability_pull_marks n
    WHERE n.integration_id = m.integration_id AND n.product_octo_id = m.product_octo_id AND n.option_octo_id = m.option_octo_id
      AND n.answer_key > m.answer_key AND n.date_from <= m.date_from AND n.date_to >= m.date_to))`;

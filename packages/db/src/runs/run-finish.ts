import { SYNC_RUN_COLUMNS } from './run-columns';

/*
 * A finished run's record: one owner for the SQL that ends a run, whether it is a statement of its
 * own or the last parts of another statement of the run's fenced transaction (a small catalog
 * run's merge, one round trip fewer: each is a wait with the session idle in transaction).
 */

/** The placeholder of a part's `i`th parameter (from 1) when its first one is `$first`. */
const placeholders = (first: number) => (i: number) => `$${first + i - 1}`;

/**
 * The run's end: `p(1)` run id, `p(2)` status, `p(3)` now, `p(4)` duration, `p(5)` payload bytes,
 * `p(6)` hash, `p(7)` counts (a null keeps what the run had), `p(8)` synced, `p(9)` warnings.
 */
const endRun = (p: (i: number) => string) => `UPDATE sync_runs SET status = ${p(2)}::"RunStatus", finished_at = ${p(3)}, duration_ms = ${p(4)}, payload_bytes = ${p(5)}, hash = ${p(6)},
  counts = COALESCE(${p(7)}::jsonb, counts), synced = ${p(8)}, error_code = NULL, error_message = NULL, warnings = ${p(9)}::jsonb
WHERE id = ${p(1)}::uuid
RETURNING ${SYNC_RUN_COLUMNS}`;

/** A pull's end ($1…$9 as {@link endRun}): no catalog state. */
export const FINISH_RUN = endRun(placeholders(1));

/**
 * A catalog run's end and its integration's sync state, as parts of a `WITH` list whose first
 * parameter is `$first` (`finished` returns the run): parameters 1…9 as {@link endRun}, then 10 the
 * integration id, 11 the payload digest, 12 whether catalog rows were written.
 */
export function catalogEndParts(first: number): string {
  const p = placeholders(first);
  return `ended_integration AS (
  UPDATE integrations SET sync_status = 'idle', last_checked_at = ${p(3)}, last_sync_hash = ${p(6)}, last_payload_digest = ${p(11)},
    sync_error_code = NULL, sync_error_message = NULL, last_sync_at = CASE WHEN ${p(12)}::boolean THEN ${p(3)} ELSE last_sync_at END, updated_at = ${p(3)}
  WHERE id = ${p(10)}::uuid
),
finished AS (${endRun(p)})`;
}

/** What answers a statement ending with {@link catalogEndParts}: the run as it now stands. */
export const CATALOG_END_RESULT = 'SELECT * FROM finished';

/** A catalog run's end as a statement of its own. */
export const FINISH_CATALOG_RUN = `WITH ${catalogEndParts(1)}\n${CATALOG_END_RESULT}`;

/**
 * A run's end carried by another statement: its parts (parameters from `$first`), their values in
 * order, and the query that answers the finished run.
 */
export interface RunEnd {
  parts: (first: number) => string;
  values: unknown[];
  result: string;
}

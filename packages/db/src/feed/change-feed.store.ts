import type { Pool } from 'pg';
import type { ChangeType } from './change-outbox';

/** One event of the change feed as read back. */
export interface ChangeEvent {
  /** Its position: the cursor that comes after it. */
  position: string;
  integrationId: string;
  type: ChangeType;
  productOctoId: string;
  optionOctoId: string | null;
  unitOctoId: string | null;
  availabilityId: string | null;
  contentHash: string;
  at: Date;
}

/**
 * A page of the feed, or the news that the cursor points before what retention kept, or past the
 * newest position the feed ever had (a cursor this feed never returned: corrupted, or from
 * another database).
 */
export type ChangePage =
  | { kind: 'page'; events: ChangeEvent[]; next: string }
  | { kind: 'expired'; prunedThrough: string }
  | { kind: 'ahead'; newest: string };

// $1 the cursor (null: from the oldest kept), $2 the limit. One statement, so the watermark, the
// newest position and the events are read from one snapshot (a prune between two reads could
// skip events unseen). The newest position is the last event kept, or the watermark once
// retention removed every event.
const READ_EVENTS = `
SELECT s.pruned_through::text AS "prunedThrough", s.newest::text AS newest, e.position::text AS position,
  e.integration_id::text AS "integrationId", e.type, e.product_octo_id AS "productOctoId", e.option_octo_id AS "optionOctoId",
  e.unit_octo_id AS "unitOctoId", e.availability_id AS "availabilityId", e.content_hash AS "contentHash", e.at
FROM (SELECT w.pruned_through, GREATEST(w.pruned_through, (SELECT max(position) FROM change_events)) AS newest
  FROM (SELECT COALESCE((SELECT pruned_through FROM change_feed_state WHERE id = 1), 0) AS pruned_through) w) s
LEFT JOIN LATERAL (
  SELECT * FROM change_events WHERE position > GREATEST($1::bigint, s.pruned_through) ORDER BY position LIMIT $2
) e ON true
ORDER BY e.position`;

// $1 cutoff, $2 batch size. The oldest events first; the watermark moves in the same statement.
const PRUNE_BATCH = `
WITH doomed AS (
  SELECT position FROM change_events WHERE at < $1 ORDER BY position LIMIT $2
), gone AS (
  DELETE FROM change_events e USING doomed d WHERE e.position = d.position RETURNING e.position
), mark AS (
  INSERT INTO change_feed_state AS s (id, pruned_through) SELECT 1, max(position) FROM gone HAVING count(*) > 0
  ON CONFLICT (id) DO UPDATE SET pruned_through = GREATEST(s.pruned_through, excluded.pruned_through)
)
SELECT count(*)::int AS deleted FROM gone`;

/**
 * Reading and pruning the change feed. Positions are assigned in commit order (see
 * change-outbox.ts), so "every event after my cursor" is a plain index range that never skips
 * an event committed later.
 */
export class ChangeFeedStore {
  constructor(private readonly pool: Pool) {}

  /**
   * Up to `limit` events after `after` (a position; null: from the oldest kept). `expired` when
   * retention already removed events the cursor had not read; `ahead` when the cursor is past the
   * newest position (equal to it is fine: nothing new yet).
   */
  async read(after: bigint | null, limit: number): Promise<ChangePage> {
    type Row = { prunedThrough: string; newest: string } & ({ [K in keyof ChangeEvent]: ChangeEvent[K] } | { [K in keyof ChangeEvent]: null });
    const { rows } = await this.pool.query<Row>(READ_EVENTS, [after?.toString() ?? null, limit]);
    const prunedThrough = rows[0]?.prunedThrough ?? '0';
    const newest = rows[0]?.newest ?? prunedThrough;
    if (after !== null && after < BigInt(prunedThrough)) return { kind: 'expired', prunedThrough };
    if (after !== null && after > BigInt(newest)) return { kind: 'ahead', newest };
    const events = rows.filter((row): row is Row & ChangeEvent => row.position !== null).map(({ prunedThrough: _watermark, newest: _newest, ...event }) => event);
    return { kind: 'page', events, next: events.at(-1)?.position ?? (after === null ? prunedThrough : after.toString()) };
  }

  /**
   * Deletes events older than `before`, at most `batch` per statement, until none is left or
   * `maxBatches` statements ran; returns how many it deleted.
   */
  async prune(before: Date, batch: number, maxBatches: number): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const deleted = (await this.pool.query<{ deleted: number }>(PRUNE_BATCH, [before, batch])).rows[0]?.deleted ?? 0;
      total += deleted;
      if (deleted < batch) break;
    }
    return total;
  }
}

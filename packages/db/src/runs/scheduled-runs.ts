import type { PrismaClient } from '../client';
import { uuidv7 } from '../uuid';

/** What one integration of a nightly tick got from {@link requestScheduledRuns}. */
export interface ScheduledRun {
  integrationId: string;
  runId: string;
  /**
   * `created`: a new `schedule` run; `joined`: a run queued before the tick (a full request widens
   * a targeted one); `covered`: a catalog run was already requested since the tick (an earlier
   * attempt of this fan-out, or a trigger just as fresh), nothing was recorded.
   */
  outcome: 'created' | 'joined' | 'covered';
  /** The run is still `queued` (its job may need enqueueing). */
  queued: boolean;
}

// $1 the integrations, locked in id order so two fan-outs never wait on each other in a cycle; the
// key is requestRun's, so a concurrent single request waits for this transaction and then joins.
const LOCK_REQUESTS = `
SELECT count(pg_advisory_xact_lock(hashtextextended('run-request:' || s.id::text, 0)))
FROM (SELECT id FROM unnest($1::uuid[]) AS u(id) ORDER BY id) s`;

// $1 the integrations, $2 the tick, $3 a new run id (UUIDv7, uuid.ts) for each of $1. Under the
// locks above: every CTE reads one snapshot taken after the last concurrent request committed; a
// modifying CTE runs even though nothing reads it.
const REQUEST_SCHEDULED = `
WITH ids AS (SELECT DISTINCT ON (id) id, run_id FROM unnest($1::uuid[], $3::uuid[]) AS u(id, run_id) ORDER BY id, run_id),
since AS (
  SELECT DISTINCT ON (r.integration_id) r.integration_id, r.id, r.status
  FROM sync_runs r JOIN ids ON r.integration_id = ids.id
  WHERE r.kind = 'catalog' AND r.queued_at >= $2
  ORDER BY r.integration_id, r.queued_at DESC
),
queued AS (
  SELECT DISTINCT ON (r.integration_id) r.integration_id, r.id
  FROM sync_runs r JOIN ids ON r.integration_id = ids.id
  WHERE r.kind = 'catalog' AND r.status = 'queued' AND NOT EXISTS (SELECT 1 FROM since s WHERE s.integration_id = r.integration_id)
  ORDER BY r.integration_id, r.queued_at
),
widened AS (
  UPDATE sync_runs t SET product_ids = '{}' FROM queued q WHERE t.id = q.id AND cardinality(t.product_ids) > 0 RETURNING t.id
),
created AS (
  INSERT INTO sync_runs (id, integration_id, trigger, kind, schedule_tick)
  SELECT ids.run_id, ids.id, 'schedule', 'catalog', $2 FROM ids
  WHERE NOT EXISTS (SELECT 1 FROM since s WHERE s.integration_id = ids.id) AND NOT EXISTS (SELECT 1 FROM queued q WHERE q.integration_id = ids.id)
  RETURNING id, integration_id
)
SELECT integration_id AS "integrationId", id AS "runId", 'covered' AS outcome, status = 'queued' AS queued FROM since
UNION ALL SELECT integration_id, id, 'joined', true FROM queued
UNION ALL SELECT integration_id, id, 'created', true FROM created`;

/**
 * The nightly fan-out's run requests, set-based: two statements in one transaction for a batch of
 * integrations, whatever its size (keep batches to a few thousand: each integration holds an
 * advisory lock until commit). Per integration it does what `SyncRunStore.requestRun` does for a
 * `schedule` request, under the same lock, and skips one already covered since the tick, so a
 * retried tick requests nothing twice.
 */
export class ScheduledRunStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Requests a `schedule` run of tick `tick` for each of `integrationIds`. */
  request(integrationIds: readonly string[], tick: Date): Promise<ScheduledRun[]> {
    if (integrationIds.length === 0) return Promise.resolve([]);
    const ids = [...integrationIds];
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$queryRawUnsafe(LOCK_REQUESTS, ids);
        return tx.$queryRawUnsafe<ScheduledRun[]>(REQUEST_SCHEDULED, ids, tick, ids.map(() => uuidv7()));
      },
      { timeout: TRANSACTION_TIMEOUT_MS },
    );
  }
}

/** Bounds the wait for the locks of integrations whose single requests are in flight, with room to spare. */
const TRANSACTION_TIMEOUT_MS = 60_000;

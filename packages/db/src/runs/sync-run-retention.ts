import type { PrismaClient } from '../client';
import type { RunKind } from '../generated/prisma/client';
import { FLIGHT_OF } from './pull-flight';

/** How long finished runs of one kind are kept, and how many of each integration's newest always are. */
export interface SyncRunRetention {
  kind: RunKind;
  /** Finished runs whose `finished_at` is before this go, unless among the newest kept. */
  before: Date;
  /** Each integration keeps at least its newest `keepNewest` finished runs of this kind (≥ 1). */
  keepNewest: number;
}

/** Rows examined per statement and statements per call. */
export interface PruneBudget {
  batch: number;
  maxBatches: number;
}

// One batch: walk finished runs of the kind oldest first from the cursor (through
// sync_runs_kind_finished_at_id_idx), delete those not among their integration's newest kept runs
// (each found through sync_runs_integration_id_kind_queued_at_idx), and answer where the walk
// stopped. Kept rows are walked past once per call, never deleted; only integrations idle for
// longer than the retention have any.
const PRUNE_BATCH = `
WITH scanned AS (
  SELECT r.id, r.integration_id, r.queued_at, r.finished_at
  FROM sync_runs r
  WHERE r.kind = $1::"RunKind" AND r.finished_at IS NOT NULL AND r.finished_at < $2
    AND r.status IN ('succeeded', 'skipped', 'failed')
    AND (r.finished_at, r.id) > ($3::timestamptz, $4::uuid)
  ORDER BY r.finished_at, r.id
  LIMIT $5
), doomed AS (
  SELECT s.id FROM scanned s
  WHERE s.queued_at < (
    SELECT k.queued_at FROM sync_runs k
    WHERE k.integration_id = s.integration_id AND k.kind = $1::"RunKind" AND k.finished_at IS NOT NULL
    ORDER BY k.queued_at DESC LIMIT 1 OFFSET $6
  )
), gone AS (
  DELETE FROM sync_runs d USING doomed WHERE d.id = doomed.id RETURNING d.id
), last AS (
  SELECT finished_at, id FROM scanned ORDER BY finished_at DESC, id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM gone)::int AS deleted, (SELECT count(*) FROM scanned)::int AS scanned,
  (SELECT finished_at FROM last) AS "lastAt", (SELECT id::text FROM last) AS "lastId"`;

// Pull flights (pull-flight.ts) whose scope has no run queued or running, last claimed before $2
// (the runs' retention cutoff): hint and refresh scopes are many, and a flight's row matters only
// while a run of it may run. Rows a claim holds locked are skipped; a later claim creates the row
// again, its fence from the sequence (never repeated). NOT EXISTS reads the statement's snapshot,
// so a run claimed after it began looks absent; `claimed_at` is the row's own column, which the
// lock re-checks on the row's newest version, so that flight stays.
const PRUNE_IDLE_FLIGHTS = `
DELETE FROM pull_flights d USING (
  SELECT f.integration_id, f.scope FROM pull_flights f
  WHERE f.claimed_at < $2 AND NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.integration_id = f.integration_id AND r.kind = 'availability_pull'
    AND r.status IN ('queued', 'running') AND ${FLIGHT_OF} = f.scope)
  LIMIT $1 FOR UPDATE SKIP LOCKED
) idle
WHERE d.integration_id = idle.integration_id AND d.scope = idle.scope`;

interface BatchRow {
  deleted: number;
  scanned: number;
  lastAt: Date | null;
  lastId: string | null;
}

/**
 * Deletes finished runs of one kind past their retention, in bounded batches, keeping each
 * integration's newest `keepNewest` finished runs of that kind whatever their age (so its sync-log
 * is never empty). Queued and running runs are never touched; pulls' idle flights go too
 * ({@link PRUNE_IDLE_FLIGHTS}). Returns how many runs went.
 */
export async function pruneSyncRuns(prisma: PrismaClient, retention: SyncRunRetention, budget: PruneBudget): Promise<number> {
  const offset = Math.max(1, retention.keepNewest) - 1;
  let cursor: { at: Date | string; id: string } = { at: '-infinity', id: '00000000-0000-0000-0000-000000000000' };
  let deleted = 0;
  for (let i = 0; i < budget.maxBatches; i++) {
    const [row] = await prisma.$queryRawUnsafe<BatchRow[]>(PRUNE_BATCH, retention.kind, retention.before, cursor.at, cursor.id, budget.batch, offset);
    deleted += row?.deleted ?? 0;
    if (!row || row.scanned < budget.batch || row.lastAt === null || row.lastId === null) break;
    cursor = { at: row.lastAt, id: row.lastId };
  }
  if (retention.kind === 'availability_pull') await prisma.$executeRawUnsafe(PRUNE_IDLE_FLIGHTS, budget.batch * budget.maxBatches, retention.before);
  return deleted;
}

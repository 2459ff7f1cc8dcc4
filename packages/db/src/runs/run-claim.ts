import type { PrismaClient } from '../client';
import type { Integration, SyncRun } from '../generated/prisma/client';
import { RUN_ABANDONED } from './run-abandon';
import { SYNC_RUN_COLUMNS } from './run-columns';
import { FLIGHT_LOCK, FLIGHT_OF, flightOf } from './pull-flight';

export type ClaimResult =
  | { kind: 'claimed'; fence: bigint; run: SyncRun; integration: Integration }
  | { kind: 'busy'; blockingRunId: string }
  | { kind: 'finished'; run: SyncRun }
  | { kind: 'missing' };

/** The statuses a run ends in: one list, for the claim's SQL and its check before the claim. */
const FINISHED_STATUSES = ['succeeded', 'skipped', 'failed'] as const;
const FINISHED: ReadonlySet<string> = new Set(FINISHED_STATUSES);

// Under the lock of what the run holds (the integration's row for a catalog run, its flight's
// row for a pull), taken by the statement before, so this one's snapshot sees every claim that
// committed before it: the run starts unless it finished meanwhile or another run of the same
// single flight (`others`: the integration's catalog runs, or its pulls of the same scope) is
// running and not abandoned (started within $3 ms). Other running runs of the flight are
// abandoned and the fence bumped (`fenced`). Catalog runs and pulls never wait for each other.
// Times are clock_timestamp(), not now(): the transaction began before it waited for the lock, and
// a run must not seem to start before the one it waited for finished.
// $1 run id, $2 integration id, $3 abandon-after ms, $4 and $5 RUN_ABANDONED's code and message
// ($6 a pull's flight scope).
function claimStatement(others: string, fenced: { update: string; fence: string }): string {
  return `
WITH cur AS (SELECT status::text AS status FROM sync_runs WHERE id = $1::uuid),
others AS (SELECT id, started_at FROM sync_runs WHERE integration_id = $2::uuid AND status = 'running' AND id <> $1::uuid AND ${others}),
live AS (SELECT id FROM others WHERE started_at > clock_timestamp() - make_interval(secs => $3::float8 / 1000) ORDER BY started_at LIMIT 1),
go AS (SELECT 1 FROM cur WHERE cur.status NOT IN (${FINISHED_STATUSES.map((status) => `'${status}'`).join(', ')}) AND NOT EXISTS (SELECT 1 FROM live)),
abandoned AS (
  UPDATE sync_runs SET status = 'failed', finished_at = clock_timestamp(), error_code = $4, error_message = $5
  WHERE id IN (SELECT id FROM others) AND EXISTS (SELECT 1 FROM go)
),
fenced AS (${fenced.update} AND EXISTS (SELECT 1 FROM go) RETURNING ${fenced.fence} AS fence),
claimed AS (
  UPDATE sync_runs SET status = 'running', started_at = clock_timestamp(), attempts = attempts + 1
  WHERE id = $1::uuid AND EXISTS (SELECT 1 FROM go)
  RETURNING ${SYNC_RUN_COLUMNS}
)
SELECT c.*, (SELECT status FROM cur) AS current_status, (SELECT id::text FROM live) AS blocking, (SELECT fence::text FROM fenced) AS fence
FROM (SELECT 1) one LEFT JOIN claimed c ON true`;
}

const CLAIM_CATALOG = claimStatement(`kind = 'catalog'`, {
  update: `UPDATE integrations SET sync_fence = sync_fence + 1, updated_at = clock_timestamp(), sync_status = 'syncing' WHERE id = $2::uuid`,
  fence: 'sync_fence',
});

const CLAIM_PULL = claimStatement(`kind = 'availability_pull' AND ${FLIGHT_OF} = $6`, {
  update: `UPDATE pull_flights SET fence = nextval('pull_flights_fence_seq'), claimed_at = clock_timestamp() WHERE integration_id = $2::uuid AND scope = $6`,
  fence: 'fence',
});

type ClaimRow = SyncRun & { current_status: string; blocking: string | null; fence: string | null };

/**
 * How long a claim waits for a pooled connection. Runs beyond the pool size queue for one (no
 * transaction waits for a second: see checkout-guard.ts), so the wait can outlast Prisma's 2 s
 * default on a small pool under a large concurrency without anything being wrong.
 */
export const CONNECTION_WAIT_MS = 60_000;

/**
 * Claims run `runId`: a transaction of two statements (the lock of the run's flight, then the
 * claim), so no session waits idle in a transaction for the worker between several. A catalog
 * run's flight is the integration (its row lock and `sync_fence`); a pull's is its integration
 * and pull scope (pull-flight.ts). The claimed run's integration is read after it commits.
 */
export async function claimRun(prisma: PrismaClient, runId: string, abandonAfterMs: number): Promise<ClaimResult> {
  const run = await prisma.syncRun.findUnique({ where: { id: runId } });
  if (!run) return { kind: 'missing' };
  if (FINISHED.has(run.status)) return { kind: 'finished', run };
  const pull = run.kind === 'availability_pull';
  const abandoned = [abandonAfterMs, RUN_ABANDONED.errorCode, RUN_ABANDONED.errorMessage];
  const row = await prisma.$transaction(async (tx) => {
    if (!pull) {
      await tx.$queryRaw`SELECT id FROM integrations WHERE id = ${run.integrationId}::uuid FOR NO KEY UPDATE`;
      return (await tx.$queryRawUnsafe<ClaimRow[]>(CLAIM_CATALOG, runId, run.integrationId, ...abandoned))[0]!;
    }
    await tx.$executeRawUnsafe(FLIGHT_LOCK, run.integrationId, flightOf(run));
    return (await tx.$queryRawUnsafe<ClaimRow[]>(CLAIM_PULL, runId, run.integrationId, ...abandoned, flightOf(run)))[0]!;
  }, { maxWait: CONNECTION_WAIT_MS });
  if (row.blocking !== null) return { kind: 'busy', blockingRunId: row.blocking };
  if (row.fence === null) return { kind: 'finished', run: await prisma.syncRun.findUniqueOrThrow({ where: { id: runId } }) };
  const { current_status: _status, blocking: _blocking, fence, ...claimed } = row;
  const integration = await prisma.integration.findUniqueOrThrow({ where: { id: run.integrationId } });
  return { kind: 'claimed', fence: BigInt(fence), run: claimed, integration: pull ? integration : { ...integration, syncFence: BigInt(fence) } };
}

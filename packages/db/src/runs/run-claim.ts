import type { PrismaClient } from '../client';
import type { Integration, SyncRun } from '../generated/prisma/client';
import { RUN_ABANDONED } from './run-abandon';
import { SYNC_RUN_COLUMNS } from './run-columns';
import { flightOf } from './pull-flight';

export type ClaimResult =
  | { kind: 'claimed'; fence: bigint; run: SyncRun; integration: Integration }
  | { kind: 'busy'; blockingRunId: string }
  | { kind: 'finished'; run: SyncRun }
  | { kind: 'missing' };

/** The statuses a run ends in (the claim function lists the same). */
const FINISHED: ReadonlySet<string> = new Set(['succeeded', 'skipped', 'failed']);

// The claim is the database function `sync_run_claim` (migration 20261207210500_sync_run_claim):
// the flight's row lock, then the claim in a statement whose snapshot is taken after the lock, in
// one autocommit round trip. Its claimed run is read back in the shape Prisma gives a run.
// $1 run id, $2 integration id, $3 the pull's flight scope (NULL: a catalog run), $4 abandon-after
// ms, $5 and $6 RUN_ABANDONED's code and message.
const CLAIM = `
SELECT ${SYNC_RUN_COLUMNS}, c.run_status AS current_status, c.blocking_run AS blocking, c.claim_fence AS fence
FROM sync_run_claim($1::uuid, $2::uuid, $3::text, $4::float8, $5, $6) c, LATERAL (SELECT (c.claimed_run).*) r`;

type ClaimRow = SyncRun & { current_status: string; blocking: string | null; fence: string | null };

/**
 * Claims run `runId` in one autocommit statement (`sync_run_claim`), so no session waits idle in
 * a transaction for the worker. A catalog run's flight is the integration (its row lock and
 * `sync_fence`); a pull's is its integration and pull scope (pull-flight.ts). The claimed run's
 * integration is read after the claim.
 */
export async function claimRun(prisma: PrismaClient, runId: string, abandonAfterMs: number): Promise<ClaimResult> {
  const run = await prisma.syncRun.findUnique({ where: { id: runId } });
  if (!run) return { kind: 'missing' };
  if (FINISHED.has(run.status)) return { kind: 'finished', run };
  const pull = run.kind === 'availability_pull';
  const [row] = await prisma.$queryRawUnsafe<ClaimRow[]>(CLAIM, runId, run.integrationId, pull ? flightOf(run) : null, abandonAfterMs, RUN_ABANDONED.errorCode, RUN_ABANDONED.errorMessage);
  if (row === undefined) throw new Error(`claim of sync run ${runId} returned no row`);
  if (row.blocking !== null) return { kind: 'busy', blockingRunId: row.blocking };
  if (row.fence === null) return { kind: 'finished', run: await prisma.syncRun.findUniqueOrThrow({ where: { id: runId } }) };
  const { current_status: _status, blocking: _blocking, fence, ...claimed } = row;
  const integration = await prisma.integration.findUniqueOrThrow({ where: { id: run.integrationId } });
  return { kind: 'claimed', fence: BigInt(fence), run: claimed, integration: pull ? integration : { ...integration, syncFence: BigInt(fence) } };
}

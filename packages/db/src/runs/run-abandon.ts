import type { PrismaClient } from '../client';
import { fenceCheckOf, fenceLockSql } from './run-fence';

/** How an abandoned run is recorded, whoever finds it abandoned. */
export const RUN_ABANDONED = { errorCode: 'RUN_ABANDONED', errorMessage: 'the run stopped without finishing and was abandoned' } as const;

// Bumps the fence of a pull's flight ($1 integration, $2 scope): its last attempt writes nothing.
const BUMP_FLIGHT = `UPDATE pull_flights SET fence = nextval('pull_flights_fence_seq') WHERE integration_id = $1::uuid AND scope = $2`;

/**
 * Records run `runId` failed with {@link RUN_ABANDONED} when the queue gave its job up without
 * our handler (the job stalled more often than BullMQ's `maxStalledCount` allows): no attempt
 * will follow, so the flight's next run may start at once instead of after
 * `SYNC_RUN_ABANDON_MS`. Under the row lock of the run's flight (the integration's for a catalog
 * run, its pull flight's for a pull), as a claim: a running run's fence is bumped, so its last
 * attempt, should it wake up, writes nothing; a catalog run leaves the integration in `error`, as
 * a final failure does. Returns false when the run had already finished (or does not exist).
 */
export async function abandonRun(prisma: PrismaClient, runId: string): Promise<boolean> {
  const run = await prisma.syncRun.findUnique({ where: { id: runId }, select: { integrationId: true, kind: true, pullScope: true } });
  if (!run) return false;
  const check = fenceCheckOf(run);
  return prisma.$transaction(async (tx) => {
    await tx.$queryRawUnsafe(fenceLockSql(check), ...check.values);
    const current = await tx.syncRun.findUniqueOrThrow({ where: { id: runId }, select: { status: true, startedAt: true } });
    if (current.status !== 'queued' && current.status !== 'running') return false;
    const now = new Date();
    const durationMs = current.startedAt === null ? null : now.getTime() - current.startedAt.getTime();
    await tx.syncRun.update({ where: { id: runId }, data: { status: 'failed', finishedAt: now, durationMs, ...RUN_ABANDONED } });
    const running = current.status === 'running';
    if (run.kind !== 'catalog') {
      if (running) await tx.$executeRawUnsafe(BUMP_FLIGHT, ...check.values);
      return true;
    }
    const state = { syncStatus: 'error' as const, syncErrorCode: RUN_ABANDONED.errorCode, syncErrorMessage: RUN_ABANDONED.errorMessage };
    await tx.integration.update({ where: { id: run.integrationId }, data: { ...(running ? { syncFence: { increment: 1 } } : {}), ...state } });
    return true;
  });
}

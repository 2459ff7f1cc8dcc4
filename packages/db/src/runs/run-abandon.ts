import type { PrismaClient } from '../client';

/** How an abandoned run is recorded, whoever finds it abandoned. */
export const RUN_ABANDONED = { errorCode: 'RUN_ABANDONED', errorMessage: 'the run stopped without finishing and was abandoned' } as const;

/**
 * Records run `runId` failed with {@link RUN_ABANDONED} when the queue gave its job up without
 * our handler (the job stalled more often than BullMQ's `maxStalledCount` allows): no attempt
 * will follow, so the integration's next run may start at once instead of after
 * `SYNC_RUN_ABANDON_MS`. Under the integration's row lock, as a claim: a running run's fence is
 * bumped, so its last attempt, should it wake up, writes nothing; a catalog run leaves the
 * integration in `error`, as a final failure does. Returns false when the run had already
 * finished (or does not exist).
 */
export async function abandonRun(prisma: PrismaClient, runId: string): Promise<boolean> {
  const run = await prisma.syncRun.findUnique({ where: { id: runId }, select: { integrationId: true, kind: true } });
  if (!run) return false;
  return prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM integrations WHERE id = ${run.integrationId}::uuid FOR UPDATE`;
    const current = await tx.syncRun.findUniqueOrThrow({ where: { id: runId }, select: { status: true, startedAt: true } });
    if (current.status !== 'queued' && current.status !== 'running') return false;
    const now = new Date();
    const durationMs = current.startedAt === null ? null : now.getTime() - current.startedAt.getTime();
    await tx.syncRun.update({ where: { id: runId }, data: { status: 'failed', finishedAt: now, durationMs, ...RUN_ABANDONED } });
    const fence = current.status === 'running' ? { syncFence: { increment: 1 } } : {};
    const state = run.kind === 'catalog' ? { syncStatus: 'error' as const, syncErrorCode: RUN_ABANDONED.errorCode, syncErrorMessage: RUN_ABANDONED.errorMessage } : {};
    await tx.integration.update({ where: { id: run.integrationId }, data: { ...fence, ...state } });
    return true;
  });
}

import { createRedis, JobProducer } from '@octo-sync/jobs';
import { waitFor } from '@octo-sync/testkit';
import type { Cast } from './cast';
import type { Violation } from './check';
import type { Http } from './http';

const QUEUES = ['catalog', 'availability'] as const;

/** Runs `fn` on the soak's queues with a producer of its own (the one way to reach them). */
async function withQueues<T>(cast: Cast, fn: (queues: ReturnType<JobProducer['queue']>[]) => Promise<T>): Promise<T> {
  const connection = createRedis({ url: cast.redis.url, clusterNodes: [] }, 'worker');
  const producer = new JobProducer({ connection, prefix: cast.env.QUEUE_PREFIX! });
  try {
    return await fn(QUEUES.map((name) => producer.queue(name)));
  } finally {
    await producer.close();
    connection.disconnect();
  }
}

/** Waits until no job waits, runs or is delayed, and no run is queued or running. */
export async function drain(cast: Cast, timeoutMs: number): Promise<void> {
  await withQueues(cast, (open) =>
    waitFor('every queue to drain', async () => {
      const counts = await Promise.all(open.map((q) => q.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children')));
      const runs = await cast.db.prisma.syncRun.count({ where: { status: { in: ['queued', 'running'] } } });
      return runs === 0 && counts.every((c) => Object.values(c).every((n) => n === 0));
    }, { timeoutMs, intervalMs: 250 }),
  );
}

/** The quiet period: suppliers behave, every tenant is approved, and one forced sync each reads the last catalog. */
export async function finalSyncs(cast: Cast, http: Http): Promise<Violation[]> {
  for (const tenant of cast.tenants) tenant.supplier.behave(null);
  for (const tenant of cast.tenants) await http.adminCall(tenant, 'approve');
  const violations: Violation[] = [];
  for (const tenant of cast.tenants) {
    const answer = await http.adminCall(tenant, 'sync?force=true', { prefer: 'respond-async' });
    const runId = (answer.body as { data?: { run_id?: string } } | undefined)?.data?.run_id;
    if (runId === undefined) {
      violations.push({ invariant: 'final-sync', tenant: tenant.index, operation: -1, detail: `answer ${answer.status} without a run id` });
      continue;
    }
    const run = await waitFor('the final run', async () => {
      const found = await cast.db.runs.findRun(runId);
      return found && found.status !== 'queued' && found.status !== 'running' ? found : undefined;
    }, { timeoutMs: 120_000, intervalMs: 100 });
    if (run.status === 'failed') violations.push({ invariant: 'final-sync', tenant: tenant.index, operation: -1, detail: `final run failed: ${run.errorCode ?? ''}` });
  }
  return violations;
}

/** No two catalog runs of one integration overlapped (claim to finish, from the run records). */
export async function checkRuns(cast: Cast): Promise<Violation[]> {
  const violations: Violation[] = [];
  const stuck = await cast.db.prisma.syncRun.count({ where: { status: { in: ['queued', 'running'] } } });
  if (stuck > 0) violations.push({ invariant: 'no-stuck-run', tenant: -1, operation: -1, detail: `${stuck} runs queued or running after the drain` });
  for (const tenant of cast.tenants) {
    const runs = await cast.db.prisma.syncRun.findMany({
      where: { integrationId: tenant.id, kind: 'catalog', startedAt: { not: null } },
      orderBy: { startedAt: 'asc' },
      select: { id: true, startedAt: true, finishedAt: true, errorCode: true },
    });
    for (let i = 1; i < runs.length; i++) {
      const before = runs[i - 1]!;
      const after = runs[i]!;
      if (before.finishedAt === null || before.finishedAt > after.startedAt!) {
        violations.push({ invariant: 'single-flight', tenant: tenant.index, operation: -1, detail: `run ${before.id} (${before.errorCode ?? 'ok'}) overlaps run ${after.id}` });
      }
    }
  }
  return violations;
}

/** No job of a good tenant (one that met no supplier fault and no revoke) is in a failed set. */
export async function checkFailedJobs(cast: Cast, faulted: ReadonlySet<number>): Promise<Violation[]> {
  return withQueues(cast, async (open) => {
    const failed = (await Promise.all(open.map((q) => q.getFailed(0, 10_000)))).flat();
    return failed.flatMap((job) => {
      const tenant = cast.tenants.find((t) => (job.data as { integrationId?: string }).integrationId === t.id);
      if (tenant !== undefined && faulted.has(tenant.index)) return [];
      return [{ invariant: 'no-failed-job', tenant: tenant?.index ?? -1, operation: -1, detail: `${job.queueName} job ${job.name} ${String(job.id)} failed: ${job.failedReason.slice(0, 200)}` }];
    });
  });
}

import { catalogSyncJob, catalogSyncJobId } from '@octo-sync/jobs';
import { generateCatalog, startService, waitFor, type ServiceProcess } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/**
 * A catalog job whose worker dies mid-run three times stalls past BullMQ's `maxStalledCount` (2):
 * BullMQ fails it at its next pick-up without our handler. Its run must not stay `running` (the
 * integration would wait `SYNC_RUN_ABANDON_MS`, 1 h): it is recorded `RUN_ABANDONED` and the
 * next run starts at once. Real worker processes, killed with SIGKILL while their fetch is held.
 */
describe('a catalog job that stalls past the limit', () => {
  let h: Harness;
  const children: ServiceProcess[] = [];

  beforeAll(async () => {
    // Short locks so each stall is seen within seconds; not shorter: a worker renews its lock every
    // half lock, and on a busy machine a 1 s lock lapsed under a live worker, which took the job
    // again (one attempt more than the kills).
    h = await startHarness({ SYNC_LOCK_DURATION_MS: '5000', SYNC_STALLED_INTERVAL_MS: '1000' });
    // Only the worker processes below take the job until the last pick-up.
    await h.stopWorker(h.worker);
    h.supplier.setCatalog(generateCatalog({ products: 2, options: 1, units: 1, seed: 24 }));
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map((child) => child.exited));
    await h.close();
  });

  /** Starts a worker process, lets it claim the run and hold its fetch open, then kills it. */
  async function claimAndDie(runId: string, attempt: number): Promise<void> {
    const hold = h.supplier.hold();
    const seen = h.supplier.requests.length;
    const child = await startService('worker', { ...h.env, LOG_LEVEL: 'info' });
    children.push(child);
    await waitFor(`attempt ${attempt} to fetch the catalog`, () => h.supplier.requests.slice(seen).some((r) => r.method === 'GET' && r.path === '/products'), { timeoutMs: 60_000 });
    expect(await h.db.runs.findRun(runId)).toMatchObject({ status: 'running', attempts: attempt });
    child.kill('SIGKILL');
    expect(await child.exited).toMatchObject({ signal: 'SIGKILL' });
    hold.release();
  }

  it('records the run RUN_ABANDONED, and the integration syncs again at once', async () => {
    const integrationId = await h.createIntegration();
    const { runId } = await h.db.runs.requestRun(integrationId, 'webhook');
    await h.producer.enqueue(catalogSyncJob, { integrationId, runId });
    for (let attempt = 1; attempt <= 3; attempt++) await claimAndDie(runId, attempt);

    // The third stall marks the job to fail at its next pick-up, which this worker makes.
    await h.startWorker();
    const abandoned = await waitFor('the run to be recorded abandoned', async () => {
      const run = await h.db.runs.findRun(runId);
      return run?.status === 'failed' ? run : undefined;
    }, { timeoutMs: 60_000 });
    expect(abandoned).toMatchObject({ errorCode: 'RUN_ABANDONED', attempts: 3, finishedAt: expect.any(Date) });
    const job = await h.producer.queue('catalog').getJob(catalogSyncJobId(runId));
    expect(await job?.getState()).toBe('failed');
    expect(job?.failedReason).toBe('job stalled more than allowable limit');
    expect(await h.db.integrations.findById(integrationId)).toMatchObject({ syncStatus: 'error', syncErrorCode: 'RUN_ABANDONED' });

    const next = await h.sync(integrationId);
    expect(next).toMatchObject({ status: 'succeeded' });
    expect(next.id).not.toBe(runId);
    // Its own waits are the deadlines: four worker processes start, each in turn, on a busy machine.
  }, 300_000);
});

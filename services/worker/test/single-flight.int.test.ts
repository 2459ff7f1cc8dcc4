import { catalogSyncJob } from '@octo-sync/jobs';
import { generateCatalog, waitFor } from '@octo-sync/testkit';
import { startHarness, storedCatalog, type Harness } from './harness';

describe('catalog.sync: one run at a time per integration', () => {
  let h: Harness;
  const catalog = generateCatalog({ products: 30, options: 2, units: 2, seed: 11 });

  beforeAll(async () => {
    // Two worker processes' worth of consumers, each able to run several jobs at once.
    h = await startHarness({ WORKER_CONCURRENCY: '4' });
    await h.startWorker();
    h.supplier.setCatalog(catalog);
  });
  afterAll(() => h.close());

  it('triggers that arrive during a run yield exactly one follow-up run', async () => {
    const integrationId = await h.createIntegration();
    const before = h.supplier.requests.length;
    const hold = h.supplier.hold();
    const first = await h.enqueueRun(integrationId);
    await h.supplier.waitForRequests(before + 1);
    expect((await h.db.runs.findRun(first.runId))!.status).toBe('running');

    const second = await h.enqueueRun(integrationId);
    const third = await h.enqueueRun(integrationId);
    const fourth = await h.enqueueRun(integrationId);
    expect(second.runId).not.toBe(first.runId);
    expect(third.runId).toBe(second.runId);
    expect(fourth.runId).toBe(second.runId);

    hold.release();
    const [a, b, c] = await Promise.all([first.finished, second.finished, third.finished]);
    expect(a.status).toBe('succeeded');
    expect(b.id).toBe(c.id);
    expect(b.status).toBe('skipped');
    expect(b.startedAt!.getTime()).toBeGreaterThanOrEqual(a.finishedAt!.getTime());
    expect(await h.db.prisma.syncRun.count({ where: { integrationId } })).toBe(2);
    expect(h.supplier.requests.length - before).toBe(2);
  });

  it('a burst of triggers across two workers never runs two syncs of one integration at once', async () => {
    const integrationId = await h.createIntegration();
    const finished = [];
    for (let round = 0; round < 12; round += 1) {
      // Change the catalog between triggers so that runs really write.
      h.supplier.setCatalog(generateCatalog({ products: 30, options: 2, units: 2, seed: 100 + round }));
      finished.push((await h.enqueueRun(integrationId)).finished);
      if (round % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const runs = await Promise.all(finished);
    expect(runs.every((r) => r.status === 'succeeded' || r.status === 'skipped')).toBe(true);

    const all = await h.db.prisma.syncRun.findMany({ where: { integrationId }, orderBy: { startedAt: 'asc' } });
    for (let i = 1; i < all.length; i += 1) {
      // Each run started only after the previous one finished: no overlap, no interleaving.
      expect(all[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(all[i - 1]!.finishedAt!.getTime());
    }
    // The stored catalog is exactly the last one served.
    const last = generateCatalog({ products: 30, options: 2, units: 2, seed: 111 });
    h.supplier.setCatalog(last);
    await h.enqueueRun(integrationId).then((r) => r.finished);
    const stored = await storedCatalog(h.db, integrationId);
    expect(stored.filter((p) => p.active).map((p) => p.raw)).toEqual(
      last.map(({ options: _o, ...raw }) => raw).sort((x, y) => (x.id < y.id ? -1 : 1)),
    );
  });

  it('a stale attempt that wakes up after its run was taken over is refused by the database', async () => {
    const integrationId = await h.createIntegration();
    const { runId } = await h.db.runs.requestRun(integrationId, 'webhook');
    const stalled = await h.db.runs.claim(runId, 60_000);
    const takeover = await h.db.runs.claim(runId, 60_000);
    if (stalled.kind !== 'claimed' || takeover.kind !== 'claimed') throw new Error('expected both claims to succeed');
    expect(takeover.fence).toBe(stalled.fence + 1n);

    const write = (fence: bigint) =>
      h.db.runs.withFence(
        integrationId,
        fence,
        async (client) =>
          (await client.query(`INSERT INTO products (integration_id, octo_id, raw, content_hash) VALUES ($1::uuid, $2, '{}', 'x') RETURNING octo_id AS "octoId"`, [integrationId, `from-${fence}`])).rows[0],
        5_000,
      );
    await expect(write(stalled.fence)).rejects.toMatchObject({ code: 'STALE_RUN' });
    await expect(write(takeover.fence)).resolves.toMatchObject({ octoId: `from-${takeover.fence}` });
    expect(await h.db.prisma.product.count({ where: { integrationId } })).toBe(1);
    // A stale attempt's failure report is dropped too: the run's state belongs to the takeover.
    expect(await h.db.runs.fail(stalled.run, stalled.fence, { code: 'X', message: 'late', final: true })).toBe(false);
    expect((await h.db.runs.findRun(runId))!.status).toBe('running');
  });

  it('a run whose job was lost for good does not block the integration forever', async () => {
    const integrationId = await h.createIntegration();
    const { runId: lost } = await h.db.runs.requestRun(integrationId, 'webhook');
    await h.db.runs.claim(lost, 60_000);
    await h.db.prisma.syncRun.update({ where: { id: lost }, data: { startedAt: new Date(Date.now() - 2 * 3_600_000) } });

    const next = await h.enqueueRun(integrationId);
    expect(next.runId).not.toBe(lost);
    await expect(next.finished).resolves.toMatchObject({ status: 'succeeded' });
    expect(await h.db.runs.findRun(lost)).toMatchObject({ status: 'failed', errorCode: 'RUN_ABANDONED' });
  });

  it('a job delivered twice for one run runs it once', async () => {
    const integrationId = await h.createIntegration();
    const { runId } = await h.db.runs.requestRun(integrationId, 'webhook');
    const job = await h.producer.enqueue(catalogSyncJob, { integrationId, runId });
    await h.producer.waitFor(job, 30_000);
    const again = await h.producer.enqueue(catalogSyncJob, { integrationId, runId }, { jobId: `replay-${runId}` });
    await expect(h.producer.waitFor(again, 30_000)).resolves.toMatchObject({ state: 'completed' });
    await waitFor('run to stay single', async () => (await h.db.runs.findRun(runId))?.status === 'succeeded');
    expect((await h.db.runs.findRun(runId))!.attempts).toBe(1);
  });
});

import { generateCatalog, startTestSupplier, type TestSupplier } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/**
 * Two slowloris suppliers (headers, then a byte now and then: never a stall, never done) and a
 * healthy one, on one worker with two sync slots: the slow ones may hold one slot between them,
 * so the healthy run completes while they are still running.
 */
describe('slow suppliers never starve the others', () => {
  let h: Harness;
  const suppliers: TestSupplier[] = [];

  afterAll(async () => {
    // Closing the suppliers first drops the slowloris connections, so the runs end at once.
    await Promise.all(suppliers.map((s) => s.close()));
    await h.close();
  });

  it('the healthy run completes while both slow ones are still running', async () => {
    const [slowA, slowB, healthy] = await Promise.all([startTestSupplier(), startTestSupplier(), startTestSupplier()]);
    suppliers.push(slowA, slowB, healthy);
    h = await startHarness({
      OCTO_ALLOWED_HOSTS: suppliers.map((s) => s.hostPort).join(','),
      WORKER_CONCURRENCY: '2',
      // Every run that waits at least one trickle interval counts as slow afterwards.
      SYNC_SLOW_RUN_MS: '1',
      SYNC_SLOW_RETRY_MS: '20',
    });
    const catalog = generateCatalog({ products: 3, seed: 5 });
    for (const s of suppliers) s.setCatalog(catalog);
    const [a, b, ok] = await Promise.all(suppliers.map((s) => h.createIntegration({ baseUrl: s.url })));

    // First runs: complete, but trickled (10 pieces, 5 ms apart), so both integrations are slow now.
    const size = Buffer.byteLength(JSON.stringify(catalog));
    for (const s of [slowA, slowB]) s.behave({ kind: 'trickle', intervalMs: 5, chunkBytes: Math.ceil(size / 10), times: 1 });
    expect((await Promise.all([h.sync(a!), h.sync(b!)])).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);

    // Now slowloris: one byte every 50 ms of a body that takes far longer than this test.
    for (const s of [slowA, slowB]) {
      s.setRawBody(`[${' '.repeat(1_000_000)}]`);
      s.behave({ kind: 'trickle', intervalMs: 50 });
    }
    const runA = await h.enqueueRun(a!);
    await slowA.waitForRequests(2, 30_000);
    const runB = await h.enqueueRun(b!);
    const runOk = await h.enqueueRun(ok!);

    const done = await runOk.finished;
    expect(done.status).toBe('succeeded');
    const [stillA, stillB] = await Promise.all([h.db.runs.findRun(runA.runId), h.db.runs.findRun(runB.runId)]);
    expect([stillA?.status, stillB?.status].every((s) => s === 'queued' || s === 'running')).toBe(true);
    expect(slowA.requests[1]?.completed).toBeUndefined();
    runA.finished.catch(() => undefined);
    runB.finished.catch(() => undefined);
  });
});

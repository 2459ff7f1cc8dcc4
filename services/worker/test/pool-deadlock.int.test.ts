import type { SyncRun } from '@octo-sync/db';
import { availabilityApplyJob, availabilityPullJob, catalogSyncJob, type SlotChange } from '@octo-sync/jobs';
import { generateCatalog, SlotCalendar } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/**
 * Catalog concurrency at the pool size: two connections, two catalog runs at once, pulls and
 * pushes beside them. A run that waited for a second pooled connection while holding its fenced
 * transaction would deadlock the pool until the write timeout (kept short here, so such a failure
 * is quick): every run must finish, on its first attempt.
 */
describe('the pool at catalog concurrency equal to its size', () => {
  let h: Harness;
  const integrations: string[] = [];
  const catalog = generateCatalog({ products: 20, options: 2, units: 2, seed: 21 });
  // Tomorrow (UTC) and the day after: inside the pull window in any product time zone.
  const start = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start, days: 2, times: ['09:00', '14:00'], offset: '+00:00' });

  beforeAll(async () => {
    h = await startHarness({ DB_POOL_SIZE: '2', WORKER_CONCURRENCY: '2', PULL_CONCURRENCY: '2', AVAILABILITY_CONCURRENCY: '4', SYNC_WRITE_TIMEOUT_MS: '5000' });
    h.supplier.setAvailability(calendar);
    h.supplier.setCatalog(catalog);
    for (let i = 0; i < 4; i++) integrations.push(await h.createIntegration());
    // Stored first, so that the runs below parse products whose options and units are stored.
    for (const id of integrations) expect(await h.sync(id)).toMatchObject({ status: 'succeeded', errorCode: null, errorMessage: null });
    // Every fetch from now on serves new content under the same ids.
    h.supplier.setChangingCatalog((n) => generateCatalog({ products: 20, options: 2, units: 2, seed: 100 + n }));
  }, 120_000);
  afterAll(() => h.close());

  async function run(integrationId: string, request: { kind?: 'availability_pull'; productIds?: string[] } = {}): Promise<SyncRun> {
    const { runId } = await h.db.runs.requestRun(integrationId, 'admin', { force: true, ...request });
    const job = request.kind === undefined ? await h.producer.enqueue(catalogSyncJob, { integrationId, runId }) : await h.producer.enqueue(availabilityPullJob, { integrationId, runId });
    const outcome = await h.producer.waitFor(job, 90_000);
    if (outcome.state === 'pending') throw new Error(`run ${runId} did not finish in time`);
    return (await h.db.runs.findRun(runId))!;
  }

  async function push(integrationId: string, key: number): Promise<string> {
    const product = catalog[key % catalog.length]!;
    const at = `${start}T09:00:00+00:00`;
    const change: SlotChange = { productId: product.id, optionId: product.options[0]!.id, availabilityId: at, localDateTimeStart: at, status: 'AVAILABLE', vacancies: key, capacity: 50, orderSource: 'sequence', orderKey: String(key) };
    const job = await h.producer.enqueue(availabilityApplyJob, { integrationId, changes: [change] });
    return (await h.producer.waitFor(job, 90_000)).state;
  }

  it('finishes every full and targeted sync, pull and push, each run on its first attempt', async () => {
    const targeted = catalog.slice(0, 3).map((p) => p.id);
    const runs = integrations.flatMap((id) => [run(id), run(id, { productIds: targeted }), run(id, { kind: 'availability_pull' })]);
    const pushes = integrations.flatMap((id, i) => [1, 2, 3].map((k) => push(id, i * 10 + k)));
    const [finished, pushed] = await Promise.all([Promise.all(runs), Promise.all(pushes)]);
    for (const r of finished) expect({ status: r.status, errorCode: r.errorCode, attempts: r.attempts }).toEqual({ status: expect.stringMatching(/^(succeeded|skipped)$/), errorCode: null, attempts: 1 });
    expect(pushed.every((state) => state === 'completed')).toBe(true);
  }, 300_000);
});

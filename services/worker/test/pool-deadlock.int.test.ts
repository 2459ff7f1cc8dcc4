import type { SyncRun } from '@octo-sync/db';
import { availabilityApplyJob, availabilityPullJob, catalogSyncJob, type SlotChange } from '@octo-sync/jobs';
import { generateCatalog, SlotCalendar } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/**
 * The most the worker's configuration allows against the least pool: one connection
 * (`DB_POOL_SIZE`'s minimum) under the largest `WORKER_CONCURRENCY`, `PULL_CONCURRENCY` and
 * `AVAILABILITY_CONCURRENCY` it accepts, with four catalog runs, targeted runs, pulls and pushes at
 * once. Each full run is large enough to stage its rows (a lane of `catalog_stage`, COPY'd on a
 * pooled connection before its fenced transaction). A run that waited for a second pooled
 * connection while holding one would deadlock the pool (or fail with NESTED_CHECKOUT): every run
 * must finish, on its first attempt.
 */
describe('the pool at the largest concurrency the worker config allows', () => {
  let h: Harness;
  const integrations: string[] = [];
  // 100 products, 200 options, 2,000 units: more rows than a run sends as parameters.
  const catalog = generateCatalog({ products: 100, options: 2, units: 10, seed: 21 });
  // Tomorrow (UTC) and the day after: inside the pull window in any product time zone.
  const start = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start, days: 2, times: ['09:00', '14:00'], offset: '+00:00' });

  beforeAll(async () => {
    h = await startHarness({ DB_POOL_SIZE: '1', WORKER_CONCURRENCY: '64', PULL_CONCURRENCY: '64', AVAILABILITY_CONCURRENCY: '2000', SYNC_WRITE_TIMEOUT_MS: '60000' });
    h.supplier.setAvailability(calendar);
    h.supplier.setCatalog(catalog);
    for (let i = 0; i < 4; i++) integrations.push(await h.createIntegration());
    // Stored first, so that the runs below parse products whose options and units are stored.
    for (const id of integrations) expect(await h.sync(id)).toMatchObject({ status: 'succeeded', errorCode: null, errorMessage: null });
    // Every fetch from now on serves new content under the same ids.
    h.supplier.setChangingCatalog((n) => generateCatalog({ products: 100, options: 2, units: 10, seed: 100 + n }));
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
    // The full runs staged their rows (a lane keeps the time of its last lease), and every lane is free and empty again.
    const lanes = await h.db.pool.query<{ used: number; held: number; rows: number }>(
      'SELECT count(leased_at)::int AS used, count(run_id)::int AS held, (SELECT count(*) FROM catalog_stage)::int AS rows FROM catalog_stage_lanes',
    );
    expect(lanes.rows[0]).toEqual({ used: expect.any(Number), held: 0, rows: 0 });
    expect(lanes.rows[0]!.used).toBeGreaterThan(0);
  }, 300_000);
});

import { availabilityApplyJob, type SlotChange } from '@octo-sync/jobs';
import { generateCatalog, waitFor } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

describe('worker runtime', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ SYNC_STALLED_INTERVAL_MS: '20000', JOB_STALLED_INTERVAL_MS: '10000' });
  });
  afterAll(() => h.close());

  it('gives the catalog queue its long lock and every other queue the job lock', () => {
    const locks = Object.fromEntries(h.worker.workers.map((w) => [w.name, [w.opts.lockDuration, w.opts.stalledInterval]]));
    const { catalog, ...others } = locks;
    expect(catalog).toEqual([30_000, 20_000]);
    // Every other queue, whatever queues exist: the job lock.
    expect(Object.keys(others)).toEqual(expect.arrayContaining(['probes', 'availability', 'schedules', 'health', 'pulls']));
    for (const [queue, lock] of Object.entries(others)) expect([queue, lock]).toEqual([queue, [30_000, 10_000]]);
  });

  it('applies the slot changes in flight before it closes, and leaves the rest queued', async () => {
    const catalog = generateCatalog({ products: 1, options: 1, units: 1, seed: 9 });
    const product = catalog[0]!;
    const integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
    const change = (i: number): SlotChange => ({
      productId: product.id,
      optionId: product.options[0]!.id,
      availabilityId: `slot-${i}`,
      localDateTimeStart: '2026-08-01T10:00:00Z',
      status: 'AVAILABLE',
      vacancies: 1,
      capacity: 1,
      orderSource: 'sequence',
      orderKey: '1',
    });
    const total = 100;
    const stored = () => h.db.prisma.availabilitySlot.count({ where: { integrationId } });

    // While the test holds this lock no slot can be written: the worker is closed with a batch in flight.
    const gate = await h.db.pool.connect();
    let closing: Promise<void> | undefined;
    try {
      await gate.query('BEGIN');
      await gate.query('LOCK TABLE availability_slots IN SHARE MODE');
      for (let i = 0; i < total; i++) await h.producer.enqueue(availabilityApplyJob, { integrationId, changes: [change(i)] });
      await waitFor('a slot write of the worker to wait on the gate', async () => {
        const { rows } = await gate.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND wait_event_type = 'Lock' AND query ILIKE '%INSERT INTO availability_slots%'`,
        );
        return rows.length > 0;
      });
      closing = h.stopWorker(h.worker);
    } finally {
      await gate.query('COMMIT');
      gate.release();
    }
    await closing;

    // Every job the closed worker took was applied; none failed, none is left half-done.
    const queue = h.producer.queue('availability');
    const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'failed');
    expect(counts).toMatchObject({ active: 0, delayed: 0, failed: 0 });
    const applied = await stored();
    expect(applied).toBeGreaterThan(0);
    expect(applied + counts.wait!).toBe(total);

    await h.startWorker();
    await waitFor('every change to be applied', async () => (await stored()) === total, { timeoutMs: 30_000 });
  });
});

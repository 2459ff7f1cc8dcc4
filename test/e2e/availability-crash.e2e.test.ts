import { availabilityApplyJob } from '@octo-sync/jobs';
import { startStack, waitFor, type TestStack } from '@octo-sync/testkit';

/** Every acknowledged slot change is applied, even when the worker applying them is killed. */
describe('availability changes in flight when a worker is SIGKILLed', () => {
  let stack: TestStack;
  // A dead worker's availability jobs lapse quickly, so the next worker takes them over within seconds.
  const fastTakeover = { JOB_LOCK_DURATION_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000' };

  beforeAll(async () => {
    stack = await startStack('avail-crash');
  });
  afterAll(() => stack.close());

  it('loses none of them', async () => {
    const { db, producer, supplier } = stack;
    const { integration } = await db.integrations.create({
      partnerId: 'avail-crash', baseUrl: supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    const product = await db.prisma.product.create({ data: { integrationId: integration.id, octoId: 'p-1', raw: {}, contentHash: 'x' } });
    await db.prisma.productOption.create({ data: { productId: product.id, octoId: 'DEFAULT', raw: {}, contentHash: 'x' } });

    const half = 2000;
    const total = 2 * half;
    const enqueue = async (from: number) => {
      for (let i = from; i < from + half; i += 200) {
        await Promise.all(
          Array.from({ length: 200 }, (_, k) =>
            producer.enqueue(availabilityApplyJob, {
              integrationId: integration.id,
              changes: [{ productId: 'p-1', optionId: 'DEFAULT', availabilityId: `slot-${i + k}`, localDateTimeStart: '2026-08-01T10:00:00Z', status: 'AVAILABLE', vacancies: 1, capacity: 1, orderSource: 'sequence', orderKey: '1' }],
            }),
          ),
        );
      }
    };
    const count = () => db.prisma.availabilitySlot.count({ where: { integrationId: integration.id } });
    const first = await stack.start('worker', fastTakeover);
    await enqueue(0);
    await waitFor('some changes to be applied', async () => (await count()) > 200, { timeoutMs: 30_000 });

    // The gate: while the test holds this lock no slot can be written, so the worker is certainly
    // killed with changes in flight (its statement waiting on the lock), however fast it is.
    const gate = await db.pool.connect();
    try {
      await gate.query('BEGIN');
      await gate.query('LOCK TABLE availability_slots IN SHARE MODE');
      await enqueue(half);
      await waitFor(
        'a slot write of the worker to wait on the gate',
        async () => {
          const { rows } = await gate.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
             AND wait_event_type = 'Lock' AND query ILIKE '%INSERT INTO availability_slots%'`,
          );
          return rows.length > 0;
        },
        { timeoutMs: 30_000 },
      );
      expect(await count()).toBeLessThanOrEqual(half);
      first.kill('SIGKILL');
      await first.exited;
    } finally {
      await gate.query('COMMIT');
      gate.release();
    }

    await stack.start('worker', fastTakeover);
    await waitFor('every change to be applied', async () => (await count()) === total, { timeoutMs: 60_000, intervalMs: 200 });
    const queue = producer.queue('availability');
    await waitFor('the queue to drain', async () => {
      const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'failed');
      return counts.wait === 0 && counts.active === 0 && counts.delayed === 0 ? counts : undefined;
    });
    expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
  });
});

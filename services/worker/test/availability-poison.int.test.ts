import { availabilityApplyJob, type SlotChange, type SlotResult } from '@octo-sync/jobs';
import { generateCatalog } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/**
 * One tenant's change that the database refuses must never cost another tenant's changes, even
 * when they are written in the same statement. (The gateway refuses such text; this is the
 * worker's own defence, for whatever reaches the queue another way.)
 */
describe('availability.apply: a poisoned change fails alone', () => {
  let h: Harness;
  const catalog = generateCatalog({ products: 2, options: 1, units: 1, seed: 11 });
  const product = catalog[0]!;
  const option = product.options[0]!;
  let good: string;
  let hostile: string;

  beforeAll(async () => {
    // Many jobs at once, so that both tenants' changes share batches.
    h = await startHarness({ AVAILABILITY_CONCURRENCY: '100' });
    h.supplier.setCatalog(catalog);
    good = await h.createIntegration();
    hostile = await h.createIntegration();
    await h.sync(good);
    await h.sync(hostile);
  });
  afterAll(() => h.close());

  const change = (availabilityId: string, orderKey: number, over: Partial<SlotChange> = {}): SlotChange => ({
    productId: product.id,
    optionId: option.id,
    availabilityId,
    localDateTimeStart: '2026-08-01T10:00:00+02:00',
    status: 'AVAILABLE',
    vacancies: orderKey % 50,
    capacity: 50,
    orderSource: 'sequence',
    orderKey: String(orderKey),
    ...over,
  });

  async function send(integrationId: string, changes: SlotChange[]) {
    const job = await h.producer.enqueue(availabilityApplyJob, { integrationId, changes });
    // Waited for only when asked: a wait nobody reads would hold the test process for its bound.
    return { job, outcome: () => h.producer.waitFor<SlotResult[]>(job, 60_000) };
  }

  it('a tenant sending NUL and lone surrogates in a loop costs the other tenant nothing', async () => {
    const poisons = ['p\u0000', '\ud800', 'x\udc00y'];
    const hostileSends = Array.from({ length: 60 }, (_, i) =>
      send(hostile, [change(`h-${i}`, i + 1), change(`h-${i}`, i + 2, { availabilityId: poisons[i % poisons.length]! })]),
    );
    const goodSends = Array.from({ length: 300 }, (_, i) => send(good, [change(`g-${i}`, i + 1)]));
    const [goodSent, hostileSent] = await Promise.all([Promise.all(goodSends), Promise.all(hostileSends)]);

    const goodOutcomes = await Promise.all(goodSent.map((s) => s.outcome()));
    expect(goodOutcomes.filter((o) => o.state !== 'completed')).toEqual([]);
    expect(goodOutcomes.flatMap((o) => (o.state === 'completed' ? o.value : []))).toEqual(Array.from({ length: 300 }, () => ({ updated: true })));
    expect(await h.db.prisma.availabilitySlot.count({ where: { integrationId: good } })).toBe(300);

    // Only the poisoned change of each hostile call is refused; its good neighbour is applied.
    const hostileOutcomes = await Promise.all(hostileSent.map((s) => s.outcome()));
    for (const outcome of hostileOutcomes) {
      expect(outcome).toEqual({ state: 'completed', value: [{ updated: true }, { updated: false, rejected: true }] });
    }
    expect(await h.db.prisma.availabilitySlot.count({ where: { integrationId: hostile } })).toBe(60);
    const failed = await h.producer.queue(availabilityApplyJob.queue).getJobs(['failed']);
    expect(failed.filter((job) => (job.data as { integrationId: string }).integrationId === good)).toEqual([]);
  });

  it('a change whose values the database refuses (class 22) is answered rejected in its first attempt; the batch around it is applied', async () => {
    // Each passes the job contract (the gateway bounds times and caps counts; the contract does
    // not): a count past integer, a start in year 0 or (in UTC) year 10000, an updatedAt order key
    // in year 9999 (it would freeze its slot: a job queued before the gateway bounded updatedAt),
    // which the worker knows to refuse before SQL, and an order key past bigint, which only Postgres refuses (22003):
    // the worker must find that one by splitting the batch within the attempt, and answer every
    // one of them, never fail a job the queue would retry.
    const poisons: Array<Partial<SlotChange>> = [
      { vacancies: 3_000_000_000, capacity: null },
      { localDateTimeStart: '0000-06-01T10:00:00+00:00' },
      { localDateTimeStart: '9999-12-31T23:00:00-05:00' },
      { orderSource: 'updated_at', orderKey: String(Date.UTC(9999, 11, 31)) },
      { orderKey: '9999999999999999999' },
    ];
    const goodSends = Array.from({ length: 100 }, (_, i) => send(good, [change(`split-${i}`, i + 1)]));
    const poisonSends = poisons.map((over, i) => send(hostile, [change(`neighbour-${i}`, 1), change(`poison-${i}`, 1, over)]));
    const [poisoned, goods] = await Promise.all([Promise.all(poisonSends), Promise.all(goodSends)]);
    const outcomes = await Promise.all(goods.map((s) => s.outcome()));
    expect(outcomes.filter((o) => o.state !== 'completed')).toEqual([]);
    expect(await h.db.prisma.availabilitySlot.count({ where: { integrationId: good, availabilityId: { startsWith: 'split-' } } })).toBe(100);
    for (const sent of poisoned) {
      expect(await sent.outcome()).toEqual({ state: 'completed', value: [{ updated: true }, { updated: false, rejected: true }] });
      const job = await h.producer.queue(availabilityApplyJob.queue).getJob(sent.job.id!);
      // Answered by its first attempt: no attempt failed, none is waiting to be retried.
      expect({ attemptsMade: job!.attemptsMade, failedReason: job!.failedReason, state: await job!.getState() }).toEqual({ attemptsMade: 1, failedReason: undefined, state: 'completed' });
    }
    expect(await h.db.prisma.availabilitySlot.count({ where: { integrationId: hostile, availabilityId: { startsWith: 'neighbour-' } } })).toBe(poisons.length);
    expect(await h.db.prisma.availabilitySlot.count({ where: { integrationId: hostile, availabilityId: { startsWith: 'poison-' } } })).toBe(0);
  });
});

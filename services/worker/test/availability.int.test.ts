import { availabilityApplyJob, type SlotChange, type SlotResult } from '@octo-sync/jobs';
import { generateCatalog, waitFor } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

describe('availability.apply', () => {
  let h: Harness;
  let integrationId: string;
  const catalog = generateCatalog({ products: 3, options: 2, units: 1, seed: 5 });
  const product = catalog[0]!;
  const option = product.options[0]!;

  let seq = 0;
  const change = (over: Partial<SlotChange> = {}): SlotChange => ({
    productId: product.id,
    optionId: option.id,
    availabilityId: '2026-07-01T09:00:00+02:00',
    localDateTimeStart: '2026-07-01T09:00:00+02:00',
    status: 'AVAILABLE',
    vacancies: 10,
    capacity: 20,
    orderSource: 'sequence',
    orderKey: String(++seq),
    ...over,
  });

  async function apply(changes: SlotChange[], id = integrationId): Promise<SlotResult[]> {
    const job = await h.producer.enqueue(availabilityApplyJob, { integrationId: id, changes });
    const outcome = await h.producer.waitFor<SlotResult[]>(job, 15_000);
    if (outcome.state !== 'completed') throw new Error(`job ended ${outcome.state}`);
    return outcome.value;
  }

  const slot = (availabilityId = '2026-07-01T09:00:00+02:00') =>
    h.db.prisma.availabilitySlot.findUnique({
      where: { integrationId_productOctoId_optionOctoId_availabilityId: { integrationId, productOctoId: product.id, optionOctoId: option.id, availabilityId } },
    });

  beforeAll(async () => {
    h = await startHarness({ AVAILABILITY_CONCURRENCY: '50' });
    integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
  });
  afterAll(() => h.close());

  it('creates a slot with the local start as sent and its UTC instant', async () => {
    expect(await apply([change({ orderKey: '1' })])).toEqual([{ updated: true }]);
    expect(await slot()).toMatchObject({
      localDateTimeStart: '2026-07-01T09:00:00+02:00',
      startsAt: new Date('2026-07-01T07:00:00.000Z'),
      status: 'AVAILABLE',
      vacancies: 10,
      capacity: 20,
      orderKey: 1n,
      orderSource: 'sequence',
    });
  });

  it('applies a newer change and refuses an older one, in either arrival order', async () => {
    expect(await apply([change({ orderKey: '5', vacancies: 5 })])).toEqual([{ updated: true }]);
    expect(await apply([change({ orderKey: '4', vacancies: 4 })])).toEqual([{ updated: false, stale: true }]);
    expect(await apply([change({ orderKey: '5', vacancies: 99 })])).toEqual([{ updated: false, stale: true }]);
    expect(await slot()).toMatchObject({ vacancies: 5, orderKey: 5n });
    expect(await apply([change({ orderKey: '6', vacancies: 3, status: 'LIMITED' })])).toEqual([{ updated: true }]);
    expect(await slot()).toMatchObject({ vacancies: 3, status: 'LIMITED', orderKey: 6n });
  });

  it('orders by the supplier updatedAt when that is what it sends', async () => {
    const id = 'by-time';
    const at = (iso: string) => ({ availabilityId: id, orderSource: 'updated_at' as const, orderKey: String(Date.parse(iso)) });
    expect(await apply([change({ ...at('2026-06-01T10:00:00.000Z'), vacancies: 2 })])).toEqual([{ updated: true }]);
    expect(await apply([change({ ...at('2026-06-01T09:59:59.999Z'), vacancies: 9 })])).toEqual([{ updated: false, stale: true }]);
    expect(await slot(id)).toMatchObject({ vacancies: 2 });
  });

  it('keeps the newest of several changes to one slot within one notify batch', async () => {
    const id = 'in-batch';
    const results = await apply([
      change({ availabilityId: id, orderKey: '101', vacancies: 1 }),
      change({ availabilityId: id, orderKey: '103', vacancies: 3 }),
      change({ availabilityId: id, orderKey: '102', vacancies: 2 }),
    ]);
    expect(results).toEqual([{ updated: false, stale: true }, { updated: true }, { updated: false, stale: true }]);
    expect(await slot(id)).toMatchObject({ vacancies: 3, orderKey: 103n });
  });

  it('an update may leave out the start time; FREESALE takes null counts', async () => {
    expect(await apply([change({ orderKey: '50', localDateTimeStart: undefined, status: 'FREESALE', vacancies: null, capacity: null })])).toEqual([
      { updated: true },
    ]);
    expect(await slot()).toMatchObject({ localDateTimeStart: '2026-07-01T09:00:00+02:00', status: 'FREESALE', vacancies: null, capacity: null });
  });

  it('records slots of an inactive product without reactivating it', async () => {
    const inactive = catalog[2]!;
    await h.db.prisma.product.updateMany({ where: { integrationId, octoId: inactive.id }, data: { active: false } });
    expect(await apply([change({ productId: inactive.id, optionId: inactive.options[0]!.id, orderKey: '1' })])).toEqual([{ updated: true }]);
    expect(await h.db.prisma.product.findFirst({ where: { integrationId, octoId: inactive.id } })).toMatchObject({ active: false });
    await h.db.prisma.product.updateMany({ where: { integrationId, octoId: inactive.id }, data: { active: true } });
  });

  it('an unknown product queues exactly one full sync, even for 50 notifies at once', async () => {
    const hold = h.supplier.hold();
    const before = h.supplier.requests.length;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => apply([change({ productId: 'not-in-catalog', optionId: 'DEFAULT', availabilityId: `n-${i}` })])),
    );
    expect(results.flat()).toEqual(Array.from({ length: 50 }, () => ({ updated: false, full_sync_queued: true })));
    const runs = await h.db.prisma.syncRun.findMany({ where: { integrationId, trigger: 'availability_fallback' } });
    expect(runs).toHaveLength(1);
    await h.supplier.waitForRequests(before + 1);
    hold.release();
    await waitFor('the fallback sync to finish', async () => (await h.db.runs.findRun(runs[0]!.id))?.finishedAt);
    expect(h.supplier.requests.length).toBe(before + 1);
  });

  it('an unknown option of a known product is unknown too', async () => {
    expect(await apply([change({ optionId: 'no-such-option', orderKey: '1' })])).toEqual([{ updated: false, full_sync_queued: true }]);
  });

  it('two workers applying shuffled changes to one slot concurrently end at the highest sequence', async () => {
    const second = await h.startWorker();
    const id = 'hammered';
    const keys = Array.from({ length: 300 }, (_, i) => i + 1);
    for (let i = keys.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    const results = await Promise.all(keys.map((k) => apply([change({ availabilityId: id, orderKey: String(1000 + k), vacancies: k, capacity: 1000 })])));
    expect(await slot(id)).toMatchObject({ orderKey: 1300n, vacancies: 300 });
    // The change with the highest sequence is applied whenever it arrives.
    expect(results[keys.indexOf(300)]).toEqual([{ updated: true }]);
    expect(second.workers.length).toBeGreaterThan(0);
  });
});

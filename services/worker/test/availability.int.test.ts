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
    h.db.prisma.availabilitySlot.findFirst({ where: { integrationId, productOctoId: product.id, optionOctoId: option.id, availabilityId } });

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

  it('ordering holds per source: an older updatedAt never applies, whatever other sources applied in between', async () => {
    const id = 'mixed-sources';
    const at = (iso: string, received: number) => ({ availabilityId: id, orderSource: 'updated_at' as const, orderKey: String(Date.parse(iso)), receivedKey: String(received) });
    const received = (key: number) => ({ availabilityId: id, orderSource: 'received_at' as const, orderKey: String(key), receivedKey: String(key) });
    expect(await apply([change({ ...at('2026-06-01T10:00:00Z', 1_000), vacancies: 10 })])).toEqual([{ updated: true }]);
    expect(await apply([change({ ...received(2_000), vacancies: 20 })])).toEqual([{ updated: true }]);
    expect(await apply([change({ ...at('2026-06-01T09:00:00Z', 3_000), vacancies: 9 })])).toEqual([{ updated: false, stale: true }]);
    expect(await slot(id)).toMatchObject({ vacancies: 20, orderSource: 'received_at' });
    // A newer change of the first source still applies after the other source's.
    expect(await apply([change({ ...at('2026-06-01T11:00:00Z', 4_000), vacancies: 11 })])).toEqual([{ updated: true }]);
    expect(await slot(id)).toMatchObject({ vacancies: 11, orderSource: 'updated_at' });
  });

  it('equal updatedAt (whole seconds) apply in arrival order, across calls', async () => {
    const id = 'same-second';
    const at = (received: number, vacancies: number) =>
      change({ availabilityId: id, orderSource: 'updated_at', orderKey: String(Date.parse('2026-06-01T10:00:00Z')), receivedKey: String(received), vacancies });
    expect(await apply([at(5_000, 5)])).toEqual([{ updated: true }]);
    expect(await apply([at(6_000, 4)])).toEqual([{ updated: true }]);
    expect(await apply([at(5_500, 7)])).toEqual([{ updated: false, stale: true }]);
    expect(await slot(id)).toMatchObject({ vacancies: 4 });
    // The same in one batch: the later arrival supersedes the earlier before either is written.
    expect(await apply([at(7_000, 3), at(8_000, 2)])).toEqual([{ updated: false, stale: true }, { updated: true }]);
    expect(await slot(id)).toMatchObject({ vacancies: 2 });
  });

  it('changes of different sources to one slot in one batch all apply, in arrival order', async () => {
    const id = 'mixed-in-batch';
    const results = await apply([
      change({ availabilityId: id, orderSource: 'sequence', orderKey: '7', vacancies: 7 }),
      change({ availabilityId: id, orderSource: 'received_at', orderKey: '9000', receivedKey: '9000', vacancies: 1 }),
      change({ availabilityId: id, orderSource: 'sequence', orderKey: '6', vacancies: 6 }),
    ]);
    expect(results).toEqual([{ updated: true }, { updated: true }, { updated: false, stale: true }]);
    expect(await slot(id)).toMatchObject({ vacancies: 1, orderSource: 'received_at', lastSequence: 7n, lastReceived: 9000n });
  });

  it('keeps the OCTO object as sent, with the fields we do not map', async () => {
    const id = 'raw-kept';
    const raw = { id, localDateTimeStart: '2026-07-01T09:00:00+02:00', localDateTimeEnd: '2026-07-01T11:00:00+02:00', utcCutoffAt: '2026-07-01T05:00:00Z', openingHours: [], unitPricing: [{ unitId: 'adult', retail: 4500 }] };
    expect(await apply([change({ availabilityId: id, orderKey: '1', raw })])).toEqual([{ updated: true }]);
    expect((await slot(id))?.raw).toEqual(raw);
    // A flat change (no OCTO object) keeps the last object received; the columns move on.
    expect(await apply([change({ availabilityId: id, orderKey: '2', vacancies: 1 })])).toEqual([{ updated: true }]);
    expect(await slot(id)).toMatchObject({ vacancies: 1, raw });
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

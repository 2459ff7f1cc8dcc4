import type { SyncRun } from '@octo-sync/db';
import { availabilityApplyJob, availabilityPullJob, type SlotChange, type SlotResult } from '@octo-sync/jobs';
import { generateCatalog, SlotCalendar } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

describe('availability.pull', () => {
  let h: Harness;
  let integrationId: string;
  const catalog = generateCatalog({ products: 2, options: 2, units: 1, seed: 16 });
  const product = catalog[0]!;
  const option = product.options[0]!;
  // Tomorrow (UTC) and the next two days: inside the window in any product time zone.
  const start = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start, days: 3, times: ['09:00', '14:00'], offset: '+00:00' });
  const total = catalog.length * 2 * 3 * 2;
  const first = `${start}T09:00:00+00:00`;

  async function pull(): Promise<SyncRun> {
    const { runId } = await h.db.runs.requestRun(integrationId, 'refresh', { kind: 'availability_pull' });
    const job = await h.producer.enqueue(availabilityPullJob, { integrationId, runId });
    const outcome = await h.producer.waitFor(job, 60_000);
    if (outcome.state === 'pending') throw new Error(`pull ${runId} did not finish in time`);
    return (await h.db.runs.findRun(runId))!;
  }

  async function push(change: Partial<SlotChange>): Promise<SlotResult> {
    const full: SlotChange = { productId: product.id, optionId: option.id, availabilityId: first, localDateTimeStart: first, status: 'AVAILABLE', vacancies: 3, capacity: 20, orderSource: 'sequence', orderKey: '1', ...change };
    const job = await h.producer.enqueue(availabilityApplyJob, { integrationId, changes: [full] });
    const outcome = await h.producer.waitFor<SlotResult[]>(job, 15_000);
    if (outcome.state !== 'completed') throw new Error(`apply ended ${outcome.state}`);
    return outcome.value[0]!;
  }

  const slot = (availabilityId = first) =>
    h.db.prisma.availabilitySlot.findFirstOrThrow({ where: { integrationId, productOctoId: product.id, optionOctoId: option.id, availabilityId } });

  /** A receive key `offsetMs` from now, in the gateway's unit (µs × 1000 + replica tag). */
  const receiveKey = (offsetMs: number) => String(BigInt(Date.now() + offsetMs) * 1_000_000n + 7n);

  beforeAll(async () => {
    h = await startHarness({ PULL_REQUESTS_PER_SUPPLIER: '3' });
    integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    h.supplier.setAvailability(calendar);
    await h.sync(integrationId);
  });
  afterAll(() => h.close());

  it('stores the snapshot with its raw objects, then writes nothing when nothing changed', async () => {
    const fresh = await pull();
    expect(fresh).toMatchObject({ kind: 'availability_pull', status: 'succeeded', counts: { slots: { created: total, updated: 0, unchanged: 0, closed: 0 }, options: { pulled: 4, failed: 0 } } });
    const stored = await slot();
    expect(stored).toMatchObject({ status: 'AVAILABLE', capacity: 20, startsAt: new Date(`${start}T09:00:00Z`), removedAt: null, orderSource: 'received_at' });
    expect(stored.raw).toMatchObject({ id: first, x_supplier_code: expect.any(String) });
    const again = await pull();
    expect(again.counts).toMatchObject({ slots: { created: 0, updated: 0, unchanged: total, closed: 0 } });
    const requests = h.supplier.requests.filter((r) => r.method === 'POST' && r.path === '/availability');
    expect(requests).toHaveLength(8);
  });

  it('repairs a change the supplier never pushed, at the next pull', async () => {
    calendar.update(product.id, option.id, first, { vacancies: 1, status: 'LIMITED' });
    const run = await pull();
    expect(run.counts).toMatchObject({ slots: { created: 0, updated: 1, unchanged: total - 1, closed: 0 } });
    expect(await slot()).toMatchObject({ vacancies: 1, status: 'LIMITED' });
  });

  it('closes a slot the supplier no longer lists, and never deletes it', async () => {
    const dropped = `${start}T14:00:00+00:00`;
    calendar.remove(product.id, option.id, dropped);
    const run = await pull();
    expect(run.counts).toMatchObject({ slots: { closed: 1 } });
    expect(await slot(dropped)).toMatchObject({ status: 'CLOSED', removedAt: expect.any(Date) });
    // The change feed hears of it, as of every slot a pull writes.
    const page = await h.db.changes.read(null, 10_000);
    const events = page.kind === 'page' ? page.events.filter((e) => e.availabilityId === dropped) : [];
    expect(events[0]?.type).toBe('slot.changed');
    expect(events.at(-1)?.type).toBe('slot.closed');
  });

  it('closing a slot whose status was already CLOSED is a slot.closed event too', async () => {
    const other = product.options[1]!;
    const listedClosed = `${start}T09:00:00+00:00`;
    calendar.update(product.id, other.id, listedClosed, { status: 'CLOSED', vacancies: 0 });
    await pull();
    const where = { integrationId, productOctoId: product.id, optionOctoId: other.id, availabilityId: listedClosed };
    expect(await h.db.prisma.availabilitySlot.findFirst({ where })).toMatchObject({ status: 'CLOSED', removedAt: null });
    const closedEvents = async () => {
      const [row] = await h.db.prisma.$queryRawUnsafe<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM change_events WHERE integration_id = $1::uuid AND product_octo_id = $2 AND option_octo_id = $3 AND availability_id = $4 AND type = 'slot.closed'`,
        integrationId,
        product.id,
        other.id,
        listedClosed,
      );
      return row!.n;
    };
    const before = await closedEvents();
    // Its status and content stay as they were: only removed_at is set.
    calendar.remove(product.id, other.id, listedClosed);
    expect((await pull()).counts).toMatchObject({ slots: { closed: 1 } });
    expect(await h.db.prisma.availabilitySlot.findFirst({ where })).toMatchObject({ status: 'CLOSED', removedAt: expect.any(Date) });
    expect(await closedEvents()).toBe(before + 1);
  });

  it('keeps a push received after the pull answered, and refuses one received before it', async () => {
    // Received "after" the next pull's answer: the pull must not overwrite it.
    expect(await push({ orderKey: '100', vacancies: 2, receivedKey: receiveKey(3_600_000) })).toEqual({ updated: true });
    calendar.update(product.id, option.id, first, { vacancies: 9 });
    await pull();
    expect(await slot()).toMatchObject({ vacancies: 2 });
    // A push received an hour ago but applied only now is older than the snapshots since.
    const second = calendar.list(product.id, option.id)[2]!.id;
    const before = await slot(second);
    expect(await push({ availabilityId: second, localDateTimeStart: second, orderKey: '200', vacancies: 0, receivedKey: receiveKey(-3_600_000) })).toMatchObject({ stale: true });
    expect((await slot(second)).vacancies).toBe(before.vacancies);
  });

  it('refuses a push received before the newest pull answered, for a slot that pull left as it was or did not list', async () => {
    const third = calendar.list(product.id, option.id)[3]!.id;
    const before = await slot(third);
    const receivedBeforePull = receiveKey(0);
    const run = await pull();
    expect(run.counts).toMatchObject({ slots: { created: 0, updated: 0 } });
    expect(await push({ availabilityId: third, localDateTimeStart: third, orderKey: '300', vacancies: 0, receivedKey: receivedBeforePull })).toMatchObject({ stale: true });
    expect((await slot(third)).vacancies).toBe(before.vacancies);
    const unlisted = `${start}T23:00:00+00:00`;
    expect(await push({ availabilityId: unlisted, localDateTimeStart: unlisted, orderKey: '301', receivedKey: receivedBeforePull })).toMatchObject({ stale: true });
    expect(await h.db.prisma.availabilitySlot.count({ where: { integrationId, availabilityId: unlisted } })).toBe(0);
    // Received after that answer: applied.
    expect(await push({ availabilityId: third, localDateTimeStart: third, orderKey: '302', vacancies: 1, receivedKey: receiveKey(7_200_000) })).toEqual({ updated: true });
  });

  it('fails visibly when the availability endpoint answers 500, and succeeds on the retry', async () => {
    h.supplier.behave({ kind: 'status', status: 500, times: 1 });
    const run = await pull();
    expect(run).toMatchObject({ status: 'succeeded', attempts: 2 });
    h.supplier.behave({ kind: 'status', status: 500 });
    const failed = await pull();
    h.supplier.behave(null);
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'SUPPLIER_SERVER_ERROR' });
  });

  it('names a product or option a refresh asks for that is not in the stored catalog, and asks the supplier nothing', async () => {
    const refresh = async (scope: { productId: string; optionId?: string }): Promise<SyncRun> => {
      const { runId } = await h.db.runs.requestRun(integrationId, 'refresh', { kind: 'availability_pull' });
      const outcome = await h.producer.waitFor(await h.producer.enqueue(availabilityPullJob, { integrationId, runId, ...scope }), 60_000);
      if (outcome.state !== 'completed') throw new Error(`pull ${runId} ended ${outcome.state}`);
      return (await h.db.runs.findRun(runId))!;
    };
    const seen = h.supplier.requests.length;
    const noProduct = await refresh({ productId: 'unknown-product', optionId: option.id });
    expect(noProduct).toMatchObject({ status: 'succeeded', counts: { options: { pulled: 0, failed: 0 } } });
    expect(noProduct.warnings).toEqual({ items: [{ product_id: 'unknown-product', path: 'productId', reason: expect.stringMatching(/product "unknown-product" is not in the stored catalog/) }], omitted: 0 });
    const noOption = await refresh({ productId: product.id, optionId: 'unknown-option' });
    expect(noOption.warnings).toEqual({ items: [{ product_id: product.id, path: 'optionId', reason: expect.stringMatching(/option "unknown-option" of this product is not in the stored catalog/) }], omitted: 0 });
    expect(h.supplier.requests.length).toBe(seen);
  });

  /**
   * A refresh of the option while the supplier answers `answer`: the run, its job completed. Every
   * call answers so until the run ends (not once: a stray call must not take the answer).
   */
  async function pullAnswering(answer: string) {
    h.supplier.behave({ kind: 'status', status: 200, body: answer, headers: { 'content-type': 'application/json' } });
    const { runId } = await h.db.runs.requestRun(integrationId, 'refresh', { kind: 'availability_pull' });
    const outcome = await h.producer.waitFor(await h.producer.enqueue(availabilityPullJob, { integrationId, runId, productId: product.id, optionId: option.id }), 60_000);
    h.supplier.behave(null);
    expect(outcome.state).toBe('completed');
    return (await h.db.runs.findRun(runId))!;
  }

  it('drops a pulled slot whose start cannot be stored, with a run warning, and writes the rest', async () => {
    // Pull answers never pass the gateway: a year Postgres cannot store (0, or 10000 once in UTC)
    // or a start past today plus 2 years is left out here, never failing or retrying the run.
    const listed = calendar.list(product.id, option.id);
    const unstorable = ['0000-06-01T10:00:00+00:00', '9999-12-31T23:00:00-05:00', `${new Date().getUTCFullYear() + 3}-01-01T10:00:00+00:00`];
    const answer = [...listed, ...unstorable.map((start) => ({ ...listed[0]!, id: `bad-${start}`, localDateTimeStart: start }))];
    const run = await pullAnswering(JSON.stringify(answer));
    expect(run).toMatchObject({ status: 'succeeded', attempts: 1, counts: { options: { pulled: 1, failed: 0 } } });
    expect(run.warnings).toEqual({ items: [{ product_id: product.id, path: `options.${option.id}.availability`, reason: expect.stringMatching(/^3 slot\(s\) dropped: localDateTimeStart outside/) }], omitted: 0 });
    expect(await h.db.prisma.availabilitySlot.count({ where: { integrationId, availabilityId: { startsWith: 'bad-' } } })).toBe(0);
    expect(await h.db.prisma.availabilitySlot.count({ where: { integrationId, productOctoId: product.id, optionOctoId: option.id, removedAt: null } })).toBe(listed.length);
  });

  it('leaves a pulled slot whose raw holds a number a double would change as stored (not closed), with a run warning naming it', async () => {
    const listed = calendar.list(product.id, option.id);
    const [held, other] = [listed[0]!, listed[1]!];
    const before = await slot(held.id);
    // A changed slot whose pricing JSON.parse would turn into Infinity (stored as null), and a
    // price change on another slot, which is taken as usual.
    const answer = JSON.stringify(listed.map((s) => (s.id === held.id ? { ...s, vacancies: 0, status: 'SOLD_OUT' } : s.id === other.id ? { ...s, pricing: { retail: 4500 } } : s)))
      .replace(`{"id":${JSON.stringify(held.id)},`, `{"id":${JSON.stringify(held.id)},"pricing":{"retail":1e400},`);
    const run = await pullAnswering(answer);
    expect(run).toMatchObject({ status: 'succeeded', counts: { slots: { updated: 1, closed: 0 } } });
    expect(run.warnings).toEqual({ items: [{ product_id: product.id, path: `options.${option.id}.availability.${held.id}`, reason: expect.stringMatching(/pricing\.retail cannot be kept exactly/) }], omitted: 0 });
    const after = await slot(held.id);
    expect(after).toMatchObject({ status: before.status, vacancies: before.vacancies, removedAt: null, contentHash: before.contentHash });
    expect(after.raw).toEqual(before.raw);
    expect((await slot(other.id)).raw).toMatchObject({ pricing: { retail: 4500 } });
  });

  it('leaves a pulled slot holding a lone surrogate as stored (not closed) and drops one whose id holds it, with run warnings, in one attempt', async () => {
    const listed = calendar.list(product.id, option.id);
    const [held, other] = [listed[0]!, listed[1]!];
    const before = await slot(held.id);
    // The escapes go in as raw text, as a supplier sends them (Postgres refuses them in jsonb).
    const answer = JSON.stringify([...listed.map((s) => (s.id === held.id ? { ...s, status: 'SOLD_OUT' } : s.id === other.id ? { ...s, pricing: { retail: 4600 } } : s)), { ...held, id: 'bad-id' }])
      .replace(`{"id":${JSON.stringify(held.id)},`, `{"id":${JSON.stringify(held.id)},"note":"x\\ud800",`)
      .replace('"bad-id"', '"bad-id\\udc00"');
    const run = await pullAnswering(answer);
    expect(run).toMatchObject({ status: 'succeeded', attempts: 1, counts: { slots: { updated: 1, closed: 0 } } });
    const path = `options.${option.id}.availability`;
    expect(run.warnings).toEqual({
      items: [
        { product_id: product.id, path: `${path}.${held.id}`, reason: 'slot not taken, the stored one left as it was: note: must not contain NUL characters or unpaired surrogates' },
        { product_id: product.id, path: `${path}.bad-id\\udc00`, reason: expect.stringMatching(/^slot dropped: its id holds a NUL character, an unpaired UTF-16 surrogate or bytes that are not valid UTF-8/) },
      ],
      omitted: 0,
    });
    expect(await slot(held.id)).toEqual(before);
    expect(await h.db.prisma.availabilitySlot.count({ where: { integrationId, availabilityId: { startsWith: 'bad-id' } } })).toBe(0);
    expect((await slot(other.id)).raw).toMatchObject({ pricing: { retail: 4600 } });
  });
});

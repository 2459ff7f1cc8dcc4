import { generateCatalog, slotStart, startStack, waitFor, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';

/** POST /{id}/availability/notify against the gateway and a worker running as real processes. */
describe('availability notify end to end', () => {
  let stack: TestStack;
  let url: string;
  let id: string;
  let secret: string;
  const catalog = generateCatalog({ products: 3, options: 1, units: 1, seed: 9 });
  const product = catalog[0]!;
  const option = product.options[0]!;
  // Slot starts from the clock: notify refuses starts too far in the past or the future.
  const first = slotStart(30, '10:00', '+01:00');

  async function notify(body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${url}${BASE}/${id}/availability/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secret, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { success: number; data: unknown; error?: string[]; reason?: string } };
  }
  const flat = (over: Record<string, unknown> = {}) => ({
    productId: product.id,
    optionId: option.id,
    availabilityId: first,
    localDateTimeStart: first,
    status: 'AVAILABLE',
    vacancies: 8,
    capacity: 10,
    ...over,
  });
  const slot = (availabilityId: string) =>
    stack.db.prisma.availabilitySlot.findFirst({ where: { integrationId: id, productOctoId: product.id, optionOctoId: option.id, availabilityId } });

  beforeAll(async () => {
    stack = await startStack('e2e-notify', { catalog });
    const [gateway] = await Promise.all([stack.start('gateway'), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
    const created = await stack.db.integrations.create({
      partnerId: 'notify-partner', baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    id = created.integration.id;
    secret = created.webhookSecret;
    const trigger = await fetch(`${url}${BASE}/${id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': secret } });
    expect(await trigger.json()).toMatchObject({ success: 1, data: { synced: 3, skipped: false } });
  });
  afterAll(() => stack.close());

  it('applies the flat form and answers after the change is in Postgres', async () => {
    const res = await notify(flat({ sequence: 1 }));
    expect(res).toEqual({ status: 200, body: { success: 1, data: { updated: true } } });
    expect(await slot(first)).toMatchObject({ vacancies: 8, capacity: 10, startsAt: new Date(slotStart(30, '09:00')) });
  });

  it('applies the nested OCTO availability_update form', async () => {
    const res = await notify({
      webhook: { event: 'availability_update' },
      supplier: { id: 's1' },
      productId: product.id,
      optionId: option.id,
      sequence: 2,
      availability: { id: first, localDateTimeStart: first, localDateTimeEnd: slotStart(30, '12:00', '+01:00'), status: 'LIMITED', vacancies: 2, capacity: 10, openingHours: [] },
    });
    expect(res.body.data).toEqual({ updated: true });
    expect(await slot(first)).toMatchObject({ status: 'LIMITED', vacancies: 2 });
  });

  it('answers a batch per item, and refuses a stale change whichever order things arrive in', async () => {
    const res = await notify({
      updates: [
        flat({ availabilityId: 'b-1', localDateTimeStart: slotStart(31, '10:00', '+01:00'), sequence: 10 }),
        flat({ sequence: 1 }),
        flat({ availabilityId: 'b-2', localDateTimeStart: slotStart(32, '10:00', '+01:00'), status: 'FREESALE', vacancies: null, capacity: null }),
        flat({ productId: 'brand-new-product', availabilityId: 'x' }),
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      results: [{ updated: true }, { updated: false, stale: true }, { updated: true }, { updated: false, full_sync_queued: true }],
    });
    expect(await notify(flat({ availabilityId: 'b-1', sequence: 9, vacancies: 0 }))).toMatchObject({ body: { data: { updated: false, stale: true } } });
    expect(await notify(flat({ availabilityId: 'b-1', sequence: 11, vacancies: 1 }))).toMatchObject({ body: { data: { updated: true } } });
    expect(await slot('b-1')).toMatchObject({ vacancies: 1, orderKey: 11n });
    await waitFor('the fallback sync to run', async () => (await stack.db.prisma.syncRun.count({ where: { integrationId: id, trigger: 'availability_fallback' } })) === 1);
  });

  it('with Prefer: respond-async answers 202 at once, and the change is applied all the same', async () => {
    const res = await notify(flat({ availabilityId: 'async-1', localDateTimeStart: slotStart(33, '10:00', '+01:00'), vacancies: 4 }), { prefer: 'respond-async' });
    expect(res).toEqual({ status: 202, body: { success: 1, data: { queued: true } } });
    await waitFor('the change to be applied', async () => (await slot('async-1'))?.vacancies === 4);
  });

  it('lists every problem of a bad body in one 400', async () => {
    const res = await notify({ productId: '', optionId: 'o'.repeat(256), availabilityId: 'a', status: 'OPEN', vacancies: -1, capacity: 1.5, localDateTimeStart: '2026-09-01 10:00', extra: 1 });
    expect(res.status).toBe(400);
    expect(res.body.reason).toBe('VALIDATION_FAILED');
    expect(res.body.error).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^productId: /),
        expect.stringMatching(/^optionId: /),
        expect.stringMatching(/^status: /),
        expect.stringMatching(/^vacancies: /),
        expect.stringMatching(/^capacity: /),
        expect.stringMatching(/^localDateTimeStart: /),
        'extra: is not a known field',
      ]),
    );
    const over = await notify(flat({ vacancies: 11, capacity: 10, availabilityId: 'z' }));
    expect(over.body.error).toEqual(['vacancies: must not be greater than capacity']);
    const batch = await notify({ updates: [flat({ availabilityId: 'never-seen', localDateTimeStart: undefined })] });
    expect(batch).toMatchObject({ status: 400, body: { error: ['updates.0.localDateTimeStart: is required for a new slot'] } });
    expect((await notify({ updates: Array.from({ length: 501 }, () => flat()) })).status).toBe(400);
    expect((await notify('not json', { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('refuses a wrong secret with the same 401 as any webhook', async () => {
    const res = await notify(flat(), { 'x-webhook-secret': 'f'.repeat(64) });
    expect(res).toMatchObject({ status: 401, body: { reason: 'WEBHOOK_SECRET_INVALID' } });
  });
});

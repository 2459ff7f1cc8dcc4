import { availabilityApplyJob, type SlotChange, type SlotResult } from '@octo-sync/jobs';
import { generateCatalog, slotStart, startStack, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';

/**
 * The attacker's reproduction (issue 24): one tenant floods notify with every class of time that
 * cannot be stored while another tenant notifies. The gateway refuses what it can see (400); what
 * reaches the worker another way is answered `rejected` by its first attempt, never retried; the
 * neighbour's changes are all applied. (Latency is measured by bench:notify, never asserted here.)
 */
describe('notify poison: unstorable times cost no other tenant anything', () => {
  let stack: TestStack;
  let url: string;
  const catalog = generateCatalog({ products: 2, options: 1, units: 1, seed: 24 });
  const product = catalog[0]!;
  const option = product.options[0]!;
  const tenants: Record<'hostile' | 'neighbour', { id: string; secret: string }> = { hostile: { id: '', secret: '' }, neighbour: { id: '', secret: '' } };

  async function notify(tenant: { id: string; secret: string }, body: unknown) {
    const res = await fetch(`${url}${BASE}/${tenant.id}/availability/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': tenant.secret },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { data?: unknown; error?: string[] } };
  }
  const flat = (availabilityId: string, over: Record<string, unknown> = {}) => ({
    productId: product.id,
    optionId: option.id,
    availabilityId,
    localDateTimeStart: slotStart(10),
    status: 'AVAILABLE',
    vacancies: 3,
    capacity: 10,
    ...over,
  });

  beforeAll(async () => {
    stack = await startStack('e2e-notify-poison', { catalog });
    // A generous wait, so that a 202 could only mean a change not applied, never a slow machine.
    const [gateway] = await Promise.all([stack.start('gateway', { NOTIFY_WAIT_MS: '60000' }), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
    for (const name of ['hostile', 'neighbour'] as const) {
      const created = await stack.db.integrations.create({ partnerId: `poison-${name}`, baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
      tenants[name] = { id: created.integration.id, secret: created.webhookSecret };
      const trigger = await fetch(`${url}${BASE}/${created.integration.id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': created.webhookSecret } });
      expect(await trigger.json()).toMatchObject({ success: 1, data: { synced: 2 } });
    }
  });
  afterAll(() => stack.close());

  it('refuses at the gateway what it can see, answers rejected what reaches the worker, and applies every neighbour change', async () => {
    const { hostile, neighbour } = tenants;
    // Through the gateway: year 0, year 10000 once in UTC, an updatedAt in 9999 (each was a 202).
    const seen = [
      flat('y0', { localDateTimeStart: '0000-06-01T10:00:00+00:00' }),
      flat('y10000', { localDateTimeStart: '9999-12-31T23:00:00-05:00' }),
      flat('frozen', { updatedAt: '9999-12-31T23:59:59Z' }),
    ];
    // Straight onto the queue (a producer that bypasses the gateway): values the worker knows
    // Postgres refuses (a count past integer, years 0 and 10000) and one only Postgres refuses
    // (an order key past bigint: 22003, found by splitting the batch).
    const change = (availabilityId: string, over: Partial<SlotChange> = {}): SlotChange => ({
      productId: product.id, optionId: option.id, availabilityId, localDateTimeStart: slotStart(10), status: 'AVAILABLE', vacancies: 1, capacity: 10, orderSource: 'sequence', orderKey: '1', ...over,
    });
    const unseen: Array<Partial<SlotChange>> = [
      { vacancies: 3_000_000_000, capacity: null },
      { localDateTimeStart: '0000-06-01T10:00:00+00:00' },
      { localDateTimeStart: '9999-12-31T23:00:00-05:00' },
      { orderKey: '9999999999999999999' },
    ];

    const flood = Array.from({ length: 10 }, async (_, round) => {
      const refused = await Promise.all(seen.map((body) => notify(hostile, body)));
      const jobs = await Promise.all(unseen.map((over, i) => stack.producer.enqueue(availabilityApplyJob, { integrationId: hostile.id, changes: [change(`ok-${round}-${i}`), change(`bad-${round}-${i}`, over)] })));
      return { refused, jobs };
    });
    const neighbourCalls = Array.from({ length: 60 }, (_, i) => notify(neighbour, flat(`n-${i}`, { sequence: i + 1 })));
    const [floods, answers] = await Promise.all([Promise.all(flood), Promise.all(neighbourCalls)]);

    expect(answers.filter((a) => a.status !== 200 || JSON.stringify(a.body.data) !== '{"updated":true}')).toEqual([]);
    for (const { refused, jobs } of floods) {
      expect(refused.map((r) => r.status)).toEqual([400, 400, 400]);
      expect(refused.map((r) => r.body.error)).toEqual([
        [expect.stringMatching(/^localDateTimeStart: must be from /)],
        [expect.stringMatching(/^localDateTimeStart: must be from /)],
        [expect.stringMatching(/^updatedAt: must be no later than 24 h past/)],
      ]);
      for (const job of jobs) {
        const outcome = await stack.producer.waitFor<SlotResult[]>(job, 60_000);
        expect(outcome).toEqual({ state: 'completed', value: [{ updated: true }, { updated: false, rejected: true }] });
        const stored = await stack.producer.queue(availabilityApplyJob.queue).getJob(job.id!);
        expect(stored!.attemptsMade).toBe(1);
      }
    }
    const queue = stack.producer.queue(availabilityApplyJob.queue);
    expect(await queue.getJobCounts('failed', 'delayed', 'waiting', 'active')).toEqual({ failed: 0, delayed: 0, waiting: 0, active: 0 });
    expect(await stack.db.prisma.availabilitySlot.count({ where: { integrationId: neighbour.id } })).toBe(60);
    expect(await stack.db.prisma.availabilitySlot.count({ where: { integrationId: hostile.id, availabilityId: { startsWith: 'bad-' } } })).toBe(0);
    expect(await stack.db.prisma.availabilitySlot.count({ where: { integrationId: hostile.id, availabilityId: { startsWith: 'ok-' } } })).toBe(40);
  });
});

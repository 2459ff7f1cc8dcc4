import jwt from 'jsonwebtoken';
import { generateCatalog, startStack, STACK_JWT_SECRET, waitFor, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';

/**
 * What is stored for a slot is what was sent, and its content hash says when it changed: through
 * the gateway and a worker running as real processes, on a real Postgres.
 */
describe('slot content end to end: raw as sent, one content hash', () => {
  let stack: TestStack;
  let url: string;
  let id: string;
  let secret: string;
  const catalog = generateCatalog({ products: 2, options: 1, units: 1, seed: 24 });
  const product = catalog[0]!;
  const option = product.options[0]!;
  // Two days from now: inside the times a slot may carry.
  const start = `${new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)}T10:00:00+00:00`;

  /** Sends `body` as these exact bytes (a `__proto__` key or a number JavaScript cannot hold). */
  async function notify(body: string) {
    const res = await fetch(`${url}${BASE}/${id}/availability/notify`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': secret }, body });
    return { status: res.status, body: (await res.json()) as { data?: unknown; error?: string[]; reason?: string } };
  }
  /** A nested OCTO event for slot `slotId` whose availability object is `availability` (JSON text, without its braces). */
  const event = (slotId: string, availability: string, ordering = '') =>
    `{"productId": ${JSON.stringify(product.id)}, "optionId": ${JSON.stringify(option.id)}, ${ordering}` +
    `"availability": {"id": ${JSON.stringify(slotId)}, "localDateTimeStart": "${start}", "status": "AVAILABLE", "vacancies": 4, "capacity": 10, ${availability}}}`;
  const storedRaw = async (slotId: string) =>
    (await stack.db.pool.query<{ raw: string }>(`SELECT raw::text AS raw FROM availability_slots WHERE integration_id = $1 AND availability_id = $2`, [id, slotId])).rows[0]?.raw;
  const slotEvents = async (slotId: string) => {
    const page = await stack.db.changes.read(null, 10_000);
    if (page.kind !== 'page') throw new Error(`change feed: ${page.kind}`);
    return page.events.filter((e) => e.integrationId === id && e.availabilityId === slotId).map((e) => ({ type: e.type, content_hash: e.contentHash }));
  };

  beforeAll(async () => {
    stack = await startStack('e2e-slot-content', { catalog });
    const [gateway] = await Promise.all([stack.start('gateway'), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
    const created = await stack.db.integrations.create({
      partnerId: 'slot-content-partner', baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    id = created.integration.id;
    secret = created.webhookSecret;
    const trigger = await fetch(`${url}${BASE}/${id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': secret } });
    expect(await trigger.json()).toMatchObject({ success: 1, data: { synced: 2 } });
  });
  afterAll(() => stack.close());

  it('stores raw with its __proto__ keys, and the read API answers them', async () => {
    const res = await notify(event('proto-1', '"__proto__": {"polluted": true}, "pricing": {"__proto__": 5, "retail": 1250}'));
    expect(res).toEqual({ status: 200, body: { success: 1, data: { updated: true } } });
    const raw = JSON.parse((await storedRaw('proto-1'))!) as Record<string, unknown>;
    expect(Object.keys(raw)).toContain('__proto__');
    expect(raw['__proto__']).toEqual({ polluted: true });
    expect(Object.getOwnPropertyDescriptor(raw.pricing, '__proto__')?.value).toBe(5);

    const token = jwt.sign({ role: 'admin' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'ops', expiresIn: '1h' });
    const admin = await fetch(`${url}${BASE}/${id}/availability`, { headers: { authorization: `Bearer ${token}` } });
    expect(admin.status).toBe(200);
    const [slot] = ((await admin.json()) as { data: Array<{ raw: Record<string, unknown> }> }).data;
    // jsonb orders keys its own way; the keys and values are the ones sent.
    expect(Object.getOwnPropertyDescriptor(slot!.raw, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.getOwnPropertyDescriptor(slot!.raw.pricing, '__proto__')?.value).toBe(5);
  });

  it('refuses a number it cannot keep exactly with 400 naming each path, and stores nothing', async () => {
    const res = await notify(event('lossy-1', '"pricing": {"retail": 1e400, "tiny": 1e-400, "exact": 12.50}, "ref": 12345678901234567890, "rate": 0.30000000000000000001'));
    expect(res.status).toBe(400);
    expect(res.body.reason).toBe('VALIDATION_FAILED');
    expect(res.body.error).toEqual([
      expect.stringMatching(/^availability\.pricing\.retail: is a number that cannot be kept exactly/),
      expect.stringMatching(/^availability\.pricing\.tiny: /),
      expect.stringMatching(/^availability\.ref: /),
      expect.stringMatching(/^availability\.rate: /),
    ]);
    expect(await storedRaw('lossy-1')).toBeUndefined();
    const batch = await notify(`{"updates": [{"productId": "p", "optionId": "o", "availabilityId": "a", "vacancies": 1, "sequence": 9007199254740993}]}`);
    expect(batch.body.error).toEqual(expect.arrayContaining([expect.stringMatching(/^updates\.0\.sequence: is a number that cannot be kept exactly/)]));
  });

  it('a price-only change emits slot.changed with a new content_hash; an identical re-send emits nothing', async () => {
    const priced = (retail: number, ordering = '') => event('price-1', `"pricing": {"retail": ${retail}}`, ordering);
    expect((await notify(priced(1000, '"sequence": 1, '))).body.data).toEqual({ updated: true });
    expect(await slotEvents('price-1')).toHaveLength(1);
    expect((await notify(priced(1200, '"sequence": 2, '))).body.data).toEqual({ updated: true });
    const [first, second] = await slotEvents('price-1');
    expect(second).toMatchObject({ type: 'slot.changed' });
    expect(second!.content_hash).not.toBe(first!.content_hash);
    const stored = await stack.db.pool.query<{ content_hash: string }>(`SELECT content_hash FROM availability_slots WHERE integration_id = $1 AND availability_id = 'price-1'`, [id]);
    expect(stored.rows[0]!.content_hash).toBe(second!.content_hash);

    // The same content again, newer by its order key (sequence, then our receive time): applied, no event.
    expect((await notify(priced(1200, '"sequence": 3, '))).body.data).toEqual({ updated: true });
    expect((await notify(priced(1200))).body.data).toEqual({ updated: true });
    // A change after them shows the feed is not merely late.
    expect((await notify(priced(1300))).body.data).toEqual({ updated: true });
    await waitFor('the last change in the feed', async () => (await slotEvents('price-1')).length >= 3);
    expect((await slotEvents('price-1')).map((e) => e.content_hash)).toEqual([first!.content_hash, second!.content_hash, expect.not.stringMatching(second!.content_hash)]);
  });
});

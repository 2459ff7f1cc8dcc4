import jwt from 'jsonwebtoken';
import { generateCatalog, SlotCalendar, startStack, STACK_JWT_SECRET, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';

interface Slot {
  productId: string;
  availabilityId: string;
  vacancies: number | null;
  confirmed_at: string;
}
interface Answer {
  status: number;
  body: { data: Slot[]; fresh?: boolean; error?: string[]; reason?: string };
}

/**
 * Freshness-bounded reads (`max_age_s`) through the real gateway and worker against the test
 * supplier: a stale window is pulled before the answer, concurrent readers share one pull, and
 * past the read share of the supplier budget the read answers at once with what is stored.
 */
describe('freshness-bounded reads end to end', () => {
  let stack: TestStack;
  let url: string;
  let stingyUrl: string;
  const owner = `Bearer ${jwt.sign({ role: 'partner' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'fresh-partner', expiresIn: '1h' })}`;
  const stingyOwner = `Bearer ${jwt.sign({ role: 'partner' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'stingy-partner', expiresIn: '1h' })}`;
  const catalog = generateCatalog({ products: 3, options: 1, units: 1, seed: 22 });
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start: day(2), days: 4, times: ['09:00', '14:00'], offset: '+00:00' });
  const [p0, p1, p2] = catalog.map((p) => p.id) as [string, string, string];
  const optionOf = (productId: string) => catalog.find((p) => p.id === productId)!.options[0]!.id;
  const ids: Record<string, string> = {};

  const read = async (gateway: string, auth: string, integration: string, query: string): Promise<Answer> => {
    const res = await fetch(`${gateway}${BASE}/${integration}/availability?${query}`, { headers: { authorization: auth } });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  };
  const window = (productId: string, from: number, to: number, maxAgeS = 600) =>
    `productId=${productId}&from=${day(from)}T00:00:00Z&to=${day(to)}T23:59:59Z&max_age_s=${maxAgeS}&pageSize=100`;
  const availabilityCalls = () => stack.supplier.requests.filter((r) => r.method === 'POST' && r.path === '/availability').length;

  /** Creates an approved integration of `partner`, syncs its catalog and pulls its whole window once. */
  async function integration(partner: string): Promise<string> {
    const created = await stack.db.integrations.create({ partnerId: partner, baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
    const id = created.integration.id;
    const trigger = await fetch(`${url}${BASE}/${id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': created.webhookSecret } });
    expect(await trigger.json()).toMatchObject({ success: 1, data: { synced: 3, skipped: false } });
    const auth = partner === 'fresh-partner' ? owner : stingyOwner;
    const pull = await fetch(`${url}${BASE}/${id}/availability/refresh`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: '{}' });
    expect(await pull.json()).toMatchObject({ success: 1, data: { status: 'succeeded' } });
    return id;
  }

  /** Makes every stored slot and pull answer of `integration` an hour old. */
  async function ageByAnHour(integration: string): Promise<void> {
    await stack.db.pool.query(`UPDATE availability_slots SET updated_at = updated_at - interval '1 hour' WHERE integration_id = $1::uuid`, [integration]);
    await stack.db.pool.query(`UPDATE availability_pull_marks SET answer_key = answer_key - 3600000000000 WHERE integration_id = $1::uuid`, [integration]);
  }

  beforeAll(async () => {
    stack = await startStack('e2e-fresh-read', { catalog });
    stack.supplier.setAvailability(calendar);
    // Generous waits, so that a slow machine still answers within the bound; the stingy gateway's
    // share of a supplier budget refills one call every half hour.
    const [gateway, stingy] = await Promise.all([
      stack.start('gateway', { SYNC_TRIGGER_WAIT_MS: '60000', FRESH_READ_WAIT_MS: '60000' }),
      stack.start('gateway', { FRESH_READ_WAIT_MS: '60000', FRESH_READ_BUDGET_SHARE: '0.0001' }),
      stack.start('worker'),
    ]);
    [url, stingyUrl] = await Promise.all([stack.gatewayUrl(gateway), stack.gatewayUrl(stingy)]);
    ids.fresh = await integration('fresh-partner');
    // A budget of 100 requests/s: its read share (20/s, as many at once) covers every pull this
    // file's reads of it ask for, however fast they follow each other.
    await stack.db.prisma.integration.update({ where: { id: ids.fresh }, data: { supplierRequestsPerSecond: 100 } });
    ids.stingy = await integration('stingy-partner');
  });
  afterAll(() => stack?.close());

  it('pulls a window confirmed longer ago than max_age_s and answers the supplier’s current figures, fresh', async () => {
    const slot = `${day(3)}T09:00:00+00:00`;
    calendar.update(p0, optionOf(p0), slot, { status: 'LIMITED', vacancies: 2, capacity: 20 });
    await ageByAnHour(ids.fresh!);
    const stale = await read(url, owner, ids.fresh!, `productId=${p0}&from=${day(3)}T00:00:00Z&to=${day(3)}T23:59:59Z&pageSize=100`);
    expect(stale.body.fresh).toBeUndefined();
    expect(stale.body.data.find((s) => s.availabilityId === slot)?.vacancies).not.toBe(2);

    const answer = await read(url, owner, ids.fresh!, window(p0, 3, 3));
    expect(answer.status).toBe(200);
    expect(answer.body.fresh).toBe(true);
    expect(answer.body.data.find((s) => s.availabilityId === slot)).toMatchObject({ vacancies: 2 });
    const bound = Date.now() - 600_000;
    for (const s of answer.body.data) expect(Date.parse(s.confirmed_at)).toBeGreaterThan(bound);
  });

  it('lets 50 concurrent readers of one stale window share one pull (one supplier call)', async () => {
    await ageByAnHour(ids.fresh!);
    const before = availabilityCalls();
    const answers = await Promise.all(Array.from({ length: 50 }, () => read(url, owner, ids.fresh!, window(p1, 2, 4))));
    for (const answer of answers) expect({ status: answer.status, fresh: answer.body.fresh }).toEqual({ status: 200, fresh: true });
    // One product with one option over one window: one POST /availability.
    expect(availabilityCalls() - before).toBe(1);
    const runs = await stack.db.runs.listRuns(ids.fresh!, 20);
    expect(runs.filter((r) => r.kind === 'availability_pull' && r.pullScope !== null && r.pullScope.includes(p1))).toHaveLength(1);
  });

  it('answers at once with fresh:false and each slot’s confirmed_at past the read share of the supplier budget', async () => {
    await ageByAnHour(ids.stingy!);
    // The day's one token of the share: this read pulls.
    expect((await read(stingyUrl, stingyOwner, ids.stingy!, window(p2, 2, 2))).body.fresh).toBe(true);
    const before = availabilityCalls();
    const runsBefore = (await stack.db.runs.listRuns(ids.stingy!, 50)).length;
    const refused = await read(stingyUrl, stingyOwner, ids.stingy!, window(p2, 5, 5));
    expect(refused.status).toBe(200);
    expect(refused.body.fresh).toBe(false);
    expect(refused.body.data.length).toBeGreaterThan(0);
    for (const s of refused.body.data) expect(Date.parse(s.confirmed_at)).toBeLessThan(Date.now() - 3_000_000);
    expect((await stack.db.runs.listRuns(ids.stingy!, 50)).length).toBe(runsBefore);
    expect(availabilityCalls()).toBe(before);
  });

  it('refuses a freshness-bounded read without its product and window, or with a window past 31 days, listing every problem', async () => {
    const missing = await read(url, owner, ids.fresh!, 'max_age_s=0');
    expect(missing.status).toBe(400);
    expect(missing.body.reason).toBe('VALIDATION_FAILED');
    for (const name of ['max_age_s', 'productId', 'from', 'to']) expect(missing.body.error!.join(' ')).toContain(name);
    const long = await read(url, owner, ids.fresh!, `productId=${p0}&from=${day(0)}T00:00:00Z&to=${day(40)}T00:00:00Z&max_age_s=60`);
    expect(long.status).toBe(400);
    expect(long.body.error!.join(' ')).toMatch(/to.*31 days/);
    const backwards = await read(url, owner, ids.fresh!, `productId=${p0}&from=${day(3)}T00:00:00Z&to=${day(2)}T00:00:00Z&max_age_s=x`);
    expect(backwards.status).toBe(400);
    expect(backwards.body.error!.join(' ')).toMatch(/max_age_s/);
    expect(backwards.body.error!.join(' ')).toMatch(/to.*before from/);
  });

  it('answers fresh without a pull while the window is within the bound', async () => {
    const before = availabilityCalls();
    const answer = await read(url, owner, ids.fresh!, window(p1, 2, 4));
    expect(answer.body.fresh).toBe(true);
    expect(availabilityCalls()).toBe(before);
  });
});

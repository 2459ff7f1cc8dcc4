import jwt from 'jsonwebtoken';
import { generateCatalog, SlotCalendar, startStack, STACK_JWT_SECRET, waitFor, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';

interface Slot {
  availabilityId: string;
  raw: { pricing?: { currency: string } };
  prices?: { currency: string; currency_precision: number | null; pricing: { currency: string; retail: number }; unit_pricing: Array<{ unitId: string; currency: string }> };
}

/**
 * Currencies through the real processes: `currencies` set on create, `PATCH /me` and
 * `PATCH /admin/{id}`; pulls ask the test supplier per currency; `GET /{id}/availability?currency=`
 * answers the prices of that currency; a supplier that ignores `currency` shows on the integration.
 */
describe('currencies end to end', () => {
  let stack: TestStack;
  let url: string;
  const partner = `Bearer ${jwt.sign({ role: 'partner' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'currency-partner', expiresIn: '1h' })}`;
  const admin = `Bearer ${jwt.sign({ role: 'admin' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'ops', expiresIn: '1h' })}`;
  const catalog = generateCatalog({ products: 2, options: 1, units: 1, seed: 41 });
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start: day(2), days: 1, times: ['09:00', '14:00'], offset: '+00:00' });

  async function call<T>(method: string, path: string, auth: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: { data: T; error?: string[] } }> {
    const res = await fetch(`${url}${BASE}${path}`, {
      method,
      headers: { authorization: auth, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as { data: T; error?: string[] } };
  }

  async function pull(id: string): Promise<{ status: string; warnings: Array<{ path: string; reason: string }> }> {
    const asked = await call<{ run_id: string }>('POST', `/${id}/availability/refresh`, partner, {}, { prefer: 'respond-async' });
    const runId = asked.body.data.run_id;
    return waitFor(`pull ${runId}`, async () => {
      const log = await call<{ runs: Array<{ run_id: string; status: string; warnings: Array<{ path: string; reason: string }> }> }>('GET', `/${id}/sync-log?limit=100`, partner);
      const run = log.body.data.runs.find((r) => r.run_id === runId);
      return run?.status === 'succeeded' || run?.status === 'failed' ? run : undefined;
    }, { timeoutMs: 90_000, intervalMs: 100 });
  }

  beforeAll(async () => {
    stack = await startStack('e2e-currencies', { catalog });
    stack.supplier.setAvailability(calendar);
    stack.supplier.setCurrencies({ supported: ['EUR', 'USD'] });
    const [gateway] = await Promise.all([stack.start('gateway', { SYNC_TRIGGER_WAIT_MS: '60000' }), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
  });
  afterAll(() => stack.close());

  it('sets currencies on create, PATCH /me and PATCH /admin/{id}, refuses what is not ISO 4217, and answers prices per currency', async () => {
    const refused = await call('POST', '', partner, { base_url: stack.supplier.url, auth_type: 'bearer', auth_key: 'k', handles_ticket_delivery: false, currencies: ['eur', 'USD', 'USD'] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toEqual(expect.arrayContaining([expect.stringMatching(/^currencies\.0: must be an ISO 4217 code/), expect.stringMatching(/^currencies: must not repeat a currency/)]));

    const created = await call<{ _id: string; currencies: string[]; currency_checks: object }>('POST', '', partner, { base_url: stack.supplier.url, auth_type: 'bearer', auth_key: 'k', handles_ticket_delivery: false, currencies: ['USD'] });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ currencies: ['USD'], currency_checks: {} });
    const id = created.body.data._id;
    expect((await call<{ currencies: string[] }>('PATCH', '/me', partner, { currencies: ['USD', 'GBP'] })).body.data.currencies).toEqual(['USD', 'GBP']);
    expect((await call<{ currencies: string[] }>('PATCH', `/admin/${id}`, admin, { currencies: ['EUR', 'USD'] })).body.data.currencies).toEqual(['EUR', 'USD']);
    expect((await call('POST', `/admin/${id}/approve`, admin)).status).toBe(200);
    await waitFor('the first sync', async () => ((await call<{ sync: { last_sync_at: string | null } }>('GET', '/me', partner)).body.data.sync.last_sync_at === null ? undefined : true), { timeoutMs: 90_000 });

    expect(await pull(id)).toMatchObject({ status: 'succeeded', warnings: [] });
    const usd = await call<Slot[]>('GET', `/${id}/availability?currency=USD&pageSize=100`, partner);
    expect(usd.body.data).toHaveLength(4);
    for (const slot of usd.body.data) {
      // The slot row holds the primary currency's answer; `prices` the asked one's.
      expect(slot.raw.pricing?.currency).toBe('EUR');
      expect(slot.prices).toMatchObject({ currency: 'USD', currency_precision: 2, pricing: { currency: 'USD', retail: 5000 }, unit_pricing: expect.arrayContaining([expect.objectContaining({ unitId: 'adult', currency: 'USD' })]) });
    }
    expect((await call<Slot[]>('GET', `/${id}/availability?currency=EUR&pageSize=100`, partner)).body.data.map((s) => s.prices?.currency)).toEqual(['EUR', 'EUR', 'EUR', 'EUR']);
    // GBP was listed once (PATCH /me) and is no longer: no pull asks it, so it is not answered.
    const unlisted = await call('GET', `/${id}/availability?currency=GBP`, partner);
    expect({ status: unlisted.status, error: unlisted.body.error }).toEqual({ status: 400, error: ["currency: GBP is not one of the integration's currencies (EUR, USD)"] });
    expect((await call<Slot[]>('GET', `/${id}/availability?pageSize=100`, partner)).body.data.every((s) => s.prices === undefined)).toBe(true);
    expect((await call('GET', `/${id}/availability?currency=usd`, partner)).status).toBe(400);

    // A supplier that prices in EUR whatever is asked: reported on the run and the integration, USD prices kept as they were.
    stack.supplier.setCurrencies({ supported: ['EUR'], ignoreParameter: true });
    calendar.update(catalog[0]!.id, catalog[0]!.options[0]!.id, calendar.list(catalog[0]!.id, catalog[0]!.options[0]!.id)[0]!.id, { vacancies: 1 });
    const ignored = await pull(id);
    expect(ignored.warnings.filter((w) => w.path === 'currency').map((w) => w.reason)).toEqual(['currency USD asked, prices answered in EUR for 2 option(s): not stored under USD (the supplier ignores the currency parameter)']);
    const me = await call<{ currency_checks: Record<string, { honoured: boolean; answered: string[] }> }>('GET', '/me', partner);
    expect(me.body.data.currency_checks).toMatchObject({ EUR: { honoured: true, answered: ['EUR'] }, USD: { honoured: false, answered: ['EUR'] } });
    const after = await call<Slot[]>('GET', `/${id}/availability?currency=USD&pageSize=100`, partner);
    expect(after.body.data.map((s) => s.prices?.pricing.currency)).toEqual(['USD', 'USD', 'USD', 'USD']);
  });
});

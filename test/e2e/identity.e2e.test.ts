import jwt from 'jsonwebtoken';
import { generateCatalog, startStack, STACK_JWT_SECRET, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';

type Json = Record<string, unknown>;
interface StoredProduct {
  id: string;
  key: string;
  options: Array<{ id: string; key: string; units: Array<{ id: string; key: string }> }>;
}

/**
 * Stable identity through the gateway and a worker as real processes: the test supplier re-keys a
 * product (its key, options' and units' keys and slots are kept, `product.remapped` in the feed,
 * an audit row); an ambiguous re-key is a remap candidate an admin remaps by hand; a re-created
 * integration linked to the one it replaces takes its keys.
 */
describe('stable identity end to end', () => {
  let stack: TestStack;
  let url: string;
  let id: string;
  let secret: string;
  const PARTNER = 'identity-partner';
  // Unique references on every product: a re-key is matched by them.
  const catalog = generateCatalog({ products: 4, options: 1, units: 2, seed: 23 }).map((p, i) => ({ ...p, reference: `REF-${i}` }));
  const token = jwt.sign({ role: 'admin' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'ops-1', expiresIn: '1h' });
  const start = `${new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)}T10:00:00+00:00`;

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  }
  async function sync(integrationId: string, webhookSecret: string): Promise<Json> {
    const res = await fetch(`${url}${BASE}/${integrationId}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': webhookSecret } });
    return (await res.json()) as Json;
  }
  const product = async (integrationId: string, productId: string) => (await call('GET', `${BASE}/${integrationId}/products/${productId}`)).body.data as StoredProduct;
  const keysOf = (p: StoredProduct) => ({ key: p.key, options: p.options.map((o) => ({ id: o.id, key: o.key, units: o.units.map((u) => ({ id: u.id, key: u.key })) })) });
  async function feed(): Promise<Json[]> {
    const { body } = await call('GET', '/api/v1/changes?limit=1000');
    return ((body.data as { events: Json[] }).events).filter((e) => e.integration_id === id);
  }

  beforeAll(async () => {
    stack = await startStack('e2e-identity', { catalog });
    const [gateway] = await Promise.all([stack.start('gateway'), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
    const created = await stack.db.integrations.create({ partnerId: PARTNER, baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
    id = created.integration.id;
    secret = created.webhookSecret;
    expect(await sync(id, secret)).toMatchObject({ success: 1, data: { synced: 4 } });
  });
  afterAll(() => stack.close());

  it('a supplier re-key keeps the key, the option and unit keys and the slots; the feed says product.remapped, the audit trail product_remapped', async () => {
    const [first] = catalog;
    const before = await product(id, first!.id);
    expect(before.key).toMatch(/^[0-9a-f-]{36}$/);
    const notify = await fetch(`${url}${BASE}/${id}/availability/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secret },
      body: JSON.stringify({ productId: first!.id, optionId: first!.options[0]!.id, availability: { id: 'slot-1', localDateTimeStart: start, status: 'AVAILABLE', vacancies: 3, capacity: 10 } }),
    });
    expect(notify.status).toBe(200);

    stack.supplier.rekeyProduct(first!.id, 'renamed-0');
    const run = await sync(id, secret);
    expect(run).toMatchObject({ success: 1 });

    const after = await product(id, 'renamed-0');
    expect(keysOf(after)).toEqual(keysOf(before));
    expect((await product(id, first!.id)).key).not.toBe(before.key);
    const slots = (await call('GET', `${BASE}/${id}/availability?productId=renamed-0`)).body.data as Json[];
    expect(slots.map((s) => s.availabilityId)).toEqual(['slot-1']);

    const remapped = (await feed()).filter((e) => e.type === 'product.remapped');
    expect(remapped).toEqual([expect.objectContaining({ productId: 'renamed-0', key: before.key, from: first!.id, to: 'renamed-0' })]);
    // Every product event carries the product's key.
    expect((await feed()).filter((e) => e.type === 'product.created' && e.productId === catalog[1]!.id)).toEqual([expect.objectContaining({ key: (await product(id, catalog[1]!.id)).key })]);

    const audit = (await call('GET', `${BASE}/${id}/events`)).body.data as Json[];
    expect(audit.filter((e) => e.type === 'product_remapped')).toEqual([expect.objectContaining({ actor: 'system', details: { from: first!.id, to: 'renamed-0', key: before.key, by: 'sync' } })]);
    const log = (await call('GET', `${BASE}/${id}/sync-log?kind=catalog`)).body.data as { runs: Array<{ counts: { products: Json } }> };
    expect(log.runs[0]!.counts.products).toMatchObject({ remapped: 1, created: 0, removed: 0 });
  });

  it('an ambiguous re-key is a remap candidate; an admin remaps it by hand', async () => {
    const second = catalog[1]!;
    const before = await product(id, second.id);
    // Re-keyed and its reference dropped: nothing to match by.
    stack.supplier.setCatalog([
      ...catalog.slice(2),
      { ...catalog[0], id: 'renamed-0' },
      { ...second, id: 'renamed-1', reference: null },
      { ...catalog[2]!, id: 'brand-new', reference: null },
    ]);
    const run = await sync(id, secret);
    expect(run).toMatchObject({ success: 1 });

    const candidates = (await call('GET', `${BASE}/admin/${id}/remaps/candidates`)).body.data as Json[];
    expect(candidates).toEqual([expect.objectContaining({ from: second.id, to: ['brand-new', 'renamed-1'], reason: 'no_reference' })]);

    expect(await call('POST', `${BASE}/admin/${id}/products/${second.id}/remap`, { to: 'nope' })).toMatchObject({ status: 422, body: { reason: 'REMAP_REFUSED' } });
    expect(await call('POST', `${BASE}/admin/${id}/products/${catalog[3]!.id}/remap`, { to: 'renamed-1' })).toMatchObject({ status: 409, body: { reason: 'PRODUCT_STILL_ACTIVE' } });
    expect(await call('POST', `${BASE}/admin/${id}/products/unknown/remap`, { to: 'renamed-1' })).toMatchObject({ status: 404 });
    const done = await call('POST', `${BASE}/admin/${id}/products/${second.id}/remap`, { to: 'renamed-1' });
    expect(done).toEqual({ status: 200, body: { success: 1, data: { key: before.key, from: second.id, to: 'renamed-1' } } });
    expect(keysOf(await product(id, 'renamed-1'))).toEqual(keysOf(before));
    // Once: its key went on, what it holds now is no identity to hand on again.
    expect(await call('POST', `${BASE}/admin/${id}/products/${second.id}/remap`, { to: 'renamed-1' })).toMatchObject({ status: 409, body: { reason: 'ALREADY_REMAPPED' } });
    expect(keysOf(await product(id, 'renamed-1'))).toEqual(keysOf(before));
    expect((await call('GET', `${BASE}/admin/${id}/remaps/candidates`)).body.data).toEqual([]);
    expect((await feed()).filter((e) => e.type === 'product.remapped').map((e) => [e.from, e.to, e.key])).toContainEqual([second.id, 'renamed-1', before.key]);
    const audit = (await call('GET', `${BASE}/${id}/events`)).body.data as Json[];
    expect(audit).toContainEqual(expect.objectContaining({ type: 'product_remapped', actor: 'ops-1', details: { from: second.id, to: 'renamed-1', key: before.key, by: 'admin' } }));
  });

  it('a re-created integration linked to the one it replaces takes its keys, once', async () => {
    const keys = keysOf(await product(id, 'renamed-0'));
    expect(await stack.db.integrations.softDelete(id, 'ops-1')).toBe(true);
    const created = await stack.db.integrations.create({ partnerId: PARTNER, baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
    const next = created.integration.id;
    expect(await sync(next, created.webhookSecret)).toMatchObject({ success: 1 });
    expect((await product(next, 'renamed-0')).key).not.toBe(keys.key);

    expect(await call('POST', `${BASE}/admin/${next}/link`, { previous: '00000000-0000-4000-8000-000000000000' })).toMatchObject({ status: 422, body: { reason: 'LINK_REFUSED' } });
    expect(await call('POST', `${BASE}/admin/00000000-0000-4000-8000-000000000000/link`, { previous: id })).toMatchObject({ status: 404 });
    expect(await call('POST', `${BASE}/admin/${next}/link`, { previous: id })).toEqual({ status: 200, body: { success: 1, data: { previous: id, products: 5 } } });
    expect(keysOf(await product(next, 'renamed-0'))).toEqual(keys);
    expect(await call('POST', `${BASE}/admin/${next}/link`, { previous: id })).toMatchObject({ status: 409, body: { reason: 'ALREADY_LINKED' } });
    const audit = (await call('GET', `${BASE}/${next}/events`)).body.data as Json[];
    expect(audit).toContainEqual(expect.objectContaining({ type: 'integration_linked', actor: 'ops-1', details: { previous: id, products: 5 } }));
  });
});

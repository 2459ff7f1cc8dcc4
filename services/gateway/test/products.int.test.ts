import type { Pool, PoolClient } from 'pg';
import { BASE, createBody, useGateway } from './harness';

/** A stable key: every product, option and unit has one. */
const UUID = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

const { h, check, partner, admin } = useGateway();
let mine: string;
let other: string;
const PRODUCTS = 10_000;

async function create(sub: string): Promise<string> {
  const res = await h.http().post(BASE).set(partner(sub)).send(createBody());
  expect(res.status).toBe(201);
  return res.body.data._id as string;
}

/** 10,000 products (every 10th removed), two options each, two units per option; slots on p00001. */
async function seed(integrationId: string): Promise<void> {
  await h.db.pool.query(
    `INSERT INTO products (integration_id, octo_id, internal_name, title, raw, content_hash, active, removed_at)
     SELECT $1::uuid, 'p' || lpad(n::text, 5, '0'), 'internal ' || n, CASE WHEN n = 42 THEN 'Harbour 100% Cruise' ELSE 'Tour ' || n END,
       jsonb_build_object('id', 'p' || lpad(n::text, 5, '0'), 'vendorExtra', n), 'h' || n, n % 10 <> 0,
       CASE WHEN n % 10 = 0 THEN '2026-06-01T00:00:00Z'::timestamptz END
     FROM generate_series(1, ${PRODUCTS}) n`,
    [integrationId],
  );
  await h.db.pool.query(
    `INSERT INTO product_options (product_id, octo_id, raw, content_hash, active)
     SELECT p.id, o.id, jsonb_build_object('id', o.id, 'availabilityLocalStartTimes', jsonb_build_array('09:00')), 'o', o.id = 'DEFAULT' OR p.octo_id <> 'p00001'
     FROM products p CROSS JOIN (VALUES ('DEFAULT'), ('VIP')) o(id) WHERE p.integration_id = $1::uuid`,
    [integrationId],
  );
  await h.db.pool.query(
    `INSERT INTO units (option_id, octo_id, raw, content_hash)
     SELECT o.id, u.id, jsonb_build_object('id', u.id, 'type', upper(u.id)), 'u'
     FROM product_options o JOIN products p ON p.id = o.product_id CROSS JOIN (VALUES ('adult'), ('child')) u(id) WHERE p.integration_id = $1::uuid`,
    [integrationId],
  );
  await h.db.pool.query(
    `INSERT INTO availability_slots (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, local_date_time_start, starts_at, status,
       vacancies, capacity, order_key, order_source, raw)
     SELECT $1::uuid, slot_option_key($1::uuid, 'p00001', 'DEFAULT'), ('2026-07-0' || d)::date, 'p00001', 'DEFAULT', 'slot-' || d, '2026-07-0' || d || 'T09:00:00+02:00', ('2026-07-0' || d || 'T07:00:00Z')::timestamptz,
       'AVAILABLE', 5, 10, 1000 + d, 'sequence', jsonb_build_object('id', 'slot-' || d, 'utcCutoffAt', '2026-07-0' || d || 'T06:00:00Z')
     FROM generate_series(1, 5) d`,
    [integrationId],
  );
  await h.db.pool.query('ANALYZE products, product_options, units, availability_slots');
}

/**
 * The statements sent on `pool` while `work` runs: each `query` call on a client checked out
 * meanwhile (pool.query checks one out per statement, a transaction holds one for several).
 */
async function statementsSent<T>(pool: Pool, work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  type Query = (...args: unknown[]) => unknown;
  const statements: string[] = [];
  const originals = new Map<{ query: Query }, Query>();
  const onAcquire = (client: PoolClient) => {
    const target = client as unknown as { query: Query };
    if (originals.has(target)) return;
    const original = target.query;
    originals.set(target, original);
    target.query = (...args: unknown[]) => {
      const [sql] = args;
      statements.push(typeof sql === 'string' ? sql : String((sql as { text?: unknown } | undefined)?.text));
      return original.apply(target, args);
    };
  };
  pool.on('acquire', onAcquire);
  try {
    return { result: await work(), statements };
  } finally {
    pool.off('acquire', onAcquire);
    for (const [target, original] of originals) target.query = original;
  }
}

beforeAll(async () => {
  mine = await create('p-read-owner');
  other = await create('p-read-other');
  await seed(mine);
});

describe('GET /{id}/products', () => {
  it('pages through 10,000 products with their options and units, in OCTO id order', async () => {
    const path = `${BASE}/${mine}/products`;
    const res = await h.http().get(`${path}?page=2&pageSize=100`).set(partner('p-read-owner'));
    expect(res.status).toBe(200);
    check('get', `${BASE}/{id}/products`, 200, res.body);
    expect(res.body.pagination).toEqual({ page: 2, pageSize: 100, totalCount: PRODUCTS, next: expect.any(String) });
    expect(res.body.data).toHaveLength(100);
    expect(res.body.data[0]).toEqual({
      id: 'p00101',
      key: UUID,
      internal_name: 'internal 101',
      title: 'Tour 101',
      locale: 'en',
      active: true,
      removed_at: null,
      content_hash: 'h101',
      updated_at: expect.any(String),
      options: [
        { id: 'DEFAULT', key: UUID, active: true, title: null, units: [{ id: 'adult', key: UUID, active: true, title: null }, { id: 'child', key: UUID, active: true, title: null }] },
        { id: 'VIP', key: UUID, active: true, title: null, units: [{ id: 'adult', key: UUID, active: true, title: null }, { id: 'child', key: UUID, active: true, title: null }] },
      ],
    });
    const last = await h.http().get(`${path}?page=100&pageSize=100`).set(partner('p-read-owner'));
    expect(last.body.data.at(-1).id).toBe('p10000');
    const past = await h.http().get(`${path}?page=101&pageSize=100`).set(partner('p-read-owner'));
    expect(past.body).toMatchObject({ data: [], pagination: { totalCount: PRODUCTS } });
  });

  it('filters on active and on q (id or title, wildcards taken literally)', async () => {
    const get = (qs: string) => h.http().get(`${BASE}/${mine}/products?${qs}`).set(partner('p-read-owner'));
    const removed = await get('active=false&pageSize=5');
    expect(removed.body.pagination.totalCount).toBe(PRODUCTS / 10);
    expect(removed.body.data[0]).toMatchObject({ id: 'p00010', active: false, removed_at: '2026-06-01T00:00:00.000Z' });
    expect((await get('active=true')).body.pagination.totalCount).toBe(PRODUCTS - PRODUCTS / 10);
    expect((await get('q=P0999')).body.data.map((p: { id: string }) => p.id)).toEqual(['p09990', 'p09991', 'p09992', 'p09993', 'p09994', 'p09995', 'p09996', 'p09997', 'p09998', 'p09999']);
    expect((await get('q=100%25')).body.data.map((p: { id: string }) => p.id)).toEqual(['p00042']);
    expect((await get('q=harbour')).body.pagination.totalCount).toBe(1);
    expect((await get('q=_')).body.pagination.totalCount).toBe(0);
    const bad = await get('pageSize=101&active=maybe');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toEqual(expect.arrayContaining([expect.stringMatching(/^pageSize/), expect.stringMatching(/^active/)]));
  });

  it('answers a page of 100 products with their options and units in two queries', async () => {
    const started = performance.now();
    const { result: page, statements } = await statementsSent(h.db.pool, () => h.db.catalogRead.listProducts(mine, { page: 50, pageSize: 100 }));
    expect(page.items).toHaveLength(100);
    expect(page.items.every((p) => p.options.length === 2 && p.options.every((o) => o.units.length === 2))).toBe(true);
    // Logged so the measurement can be read from the test output.
    console.info(`products page of 100: ${statements.length} queries, ${Math.round(performance.now() - started)} ms`);
    // The statements themselves, not pool checkouts: a checkout can carry any number of them.
    expect(statements).toEqual([
      expect.stringMatching(/^SELECT [\s\S]* FROM products p WHERE [\s\S]* LIMIT \$5 OFFSET \$6$/),
      expect.stringMatching(/^SELECT count\(\*\)::int AS n FROM \(SELECT 1 FROM products p WHERE [\s\S]* LIMIT \$4\) capped$/),
    ]);
  });

  it('hides an integration from another partner (404) and shows it to an admin', async () => {
    const path = `${BASE}/${mine}/products`;
    const stranger = await h.http().get(path).set(partner('p-read-other'));
    expect(stranger.status).toBe(404);
    expect(stranger.body.reason).toBe('NOT_FOUND');
    expect((await h.http().get(`${path}/p00001`).set(partner('p-read-other'))).status).toBe(404);
    expect((await h.http().get(`${BASE}/${mine}/availability`).set(partner('p-read-other'))).status).toBe(404);
    const asAdmin = await h.http().get(`${path}?pageSize=1`).set(admin());
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.pagination.totalCount).toBe(PRODUCTS);
    const empty = await h.http().get(`${BASE}/${other}/products`).set(partner('p-read-other'));
    expect(empty.body).toEqual({ success: 1, data: [], pagination: { page: 1, pageSize: 20, totalCount: 0, next: null } });
    expect((await h.http().get(path)).status).toBe(401);
  });
});

describe('GET /{id}/products/{productId}', () => {
  it('answers one product with raw, its active options and units put back in', async () => {
    const res = await h.http().get(`${BASE}/${mine}/products/p00001`).set(partner('p-read-owner'));
    expect(res.status).toBe(200);
    check('get', `${BASE}/{id}/products/{productId}`, 200, res.body);
    expect(res.body.data.options.map((o: { id: string; active: boolean }) => [o.id, o.active])).toEqual([
      ['DEFAULT', true],
      ['VIP', false],
    ]);
    expect(res.body.data.raw).toEqual({
      id: 'p00001',
      vendorExtra: 1,
      options: [{ id: 'DEFAULT', availabilityLocalStartTimes: ['09:00'], units: [{ id: 'adult', type: 'ADULT' }, { id: 'child', type: 'CHILD' }] }],
    });
  });

  it('404 for an unknown product, for another partner and for another integration’s product', async () => {
    const unknown = await h.http().get(`${BASE}/${mine}/products/nope`).set(partner('p-read-owner'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toEqual(['product: not found']);
    expect((await h.http().get(`${BASE}/${other}/products/p00001`).set(partner('p-read-other'))).status).toBe(404);
    expect((await h.http().get(`${BASE}/${mine}/products/p00001`).set(admin())).status).toBe(200);
  });
});

describe('GET /{id}/availability', () => {
  const get = (qs: string) => h.http().get(`${BASE}/${mine}/availability?${qs}`).set(partner('p-read-owner'));

  it('lists slots in start order with their order source and key and the raw object', async () => {
    const res = await get('pageSize=2');
    expect(res.status).toBe(200);
    check('get', `${BASE}/{id}/availability`, 200, res.body);
    expect(res.body.pagination).toEqual({ page: 1, pageSize: 2, totalCount: 5, next: expect.any(String) });
    expect(res.body.data[0]).toEqual({
      productId: 'p00001',
      optionId: 'DEFAULT',
      availabilityId: 'slot-1',
      localDateTimeStart: '2026-07-01T09:00:00+02:00',
      starts_at: '2026-07-01T07:00:00.000Z',
      status: 'AVAILABLE',
      vacancies: 5,
      capacity: 10,
      order: { source: 'sequence', key: '1001' },
      updated_at: expect.any(String),
      confirmed_at: res.body.data[0].updated_at,
      raw: { id: 'slot-1', utcCutoffAt: '2026-07-01T06:00:00Z' },
    });
  });

  it('confirmed_at: the later of the slot’s last write and the newest pull answer covering its local date', async () => {
    const answered = new Date(Date.now() + 3_600_000);
    // A pull answered an hour from now over 1 to 2 July (local dates): it confirms slot-1 and slot-2, not slot-3.
    await h.db.pool.query(
      `INSERT INTO availability_pull_marks (integration_id, product_octo_id, option_octo_id, date_from, date_to, answer_key)
       VALUES ($1::uuid, 'p00001', 'DEFAULT', '2026-07-01', '2026-07-02', $2::bigint)`,
      [mine, (BigInt(answered.getTime()) * 1_000_000n).toString()],
    );
    try {
      const res = await get('pageSize=3');
      check('get', `${BASE}/{id}/availability`, 200, res.body);
      const slots = res.body.data as Array<{ availabilityId: string; updated_at: string; confirmed_at: string }>;
      expect(slots.map((s) => [s.availabilityId, s.confirmed_at])).toEqual([
        ['slot-1', answered.toISOString()],
        ['slot-2', answered.toISOString()],
        ['slot-3', slots[2]!.updated_at],
      ]);
    } finally {
      await h.db.pool.query('DELETE FROM availability_pull_marks WHERE integration_id = $1::uuid', [mine]);
    }
  });

  it('filters on product, option and the start instant (both ends inclusive)', async () => {
    const ids = async (qs: string) => ((await get(qs)).body.data as Array<{ availabilityId: string }>).map((s) => s.availabilityId);
    expect(await ids('from=2026-07-02T07:00:00Z&to=2026-07-04T09:00:00%2B02:00')).toEqual(['slot-2', 'slot-3', 'slot-4']);
    expect(await ids('productId=p00001&optionId=DEFAULT&page=2&pageSize=3')).toEqual(['slot-4', 'slot-5']);
    expect(await ids('optionId=VIP')).toEqual([]);
    expect(await ids('productId=p00002')).toEqual([]);
    const bad = await get('from=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toEqual(['from: must be an ISO 8601 instant with an offset, e.g. 2026-07-01T00:00:00Z']);
  });
});

test('the OpenAPI document declares the productId path parameter', () => {
  const operation = h.app.locals.openapi().paths?.[`${BASE}/{id}/products/{productId}`] as { get: { parameters: Array<{ name: string; in: string }> } };
  expect(operation.get.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(['id', 'productId']);
});

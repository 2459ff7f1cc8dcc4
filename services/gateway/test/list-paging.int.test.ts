import { COUNT_CAP } from '@octo-sync/db';
import { BASE, createBody, useGateway } from './harness';

/*
 * Every list route pages by `page` (totalCount exact up to COUNT_CAP) and by keyset (`after`).
 * Each walk inserts rows between its pages where OFFSET paging would repeat a row: new rows at the
 * head of a newest-first list, rows sorting before the cursor in an ascending one.
 */

const { h, check, partner, admin } = useGateway();
let owned: string;
const OWNER = 'p-keyset-owner';

const sql = (text: string, params: unknown[] = []) => h.db.pool.query(text, params);

async function create(sub: string): Promise<string> {
  const res = await h.http().post(BASE).set(partner(sub)).send(createBody());
  expect(res.status).toBe(201);
  return res.body.data._id as string;
}

/** Walks a list with `after` to its end, running `between` after each page. Returns every row in order. */
async function walk(path: string, template: string, auth: Record<string, string>, between: (page: number) => Promise<void>): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  let after: string | null = null;
  for (let page = 0; page < 500; page++) {
    const url = `${path}${path.includes('?') ? '&' : '?'}pageSize=4${after === null ? '' : `&after=${after}`}`;
    const res = await h.http().get(url).set(auth);
    expect(res.status).toBe(200);
    check('get', template, 200, res.body);
    rows.push(...(res.body.data as Array<Record<string, unknown>>));
    after = res.body.pagination.next as string | null;
    if (after === null) return rows;
    await between(page);
  }
  throw new Error('the walk did not end');
}

beforeAll(async () => {
  owned = await create(OWNER);
});

describe('keyset paging (after=) returns every row once, in order, while rows are inserted', () => {
  it('GET /admin (newest first)', async () => {
    for (let i = 0; i < 9; i++) await create(`p-keyset-${i}`);
    const before = (await h.db.prisma.integration.findMany({ where: { deletedAt: null }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], select: { id: true } })).map((r) => r.id);
    const walked = await walk(`${BASE}/admin`, `${BASE}/admin`, admin(), async (page) => {
      await create(`p-keyset-new-${page}`);
    });
    expect(walked.map((r) => r._id)).toEqual(before);
  });

  it('GET /{id}/events (newest first, ties on the same instant ordered by id)', async () => {
    await sql(
      `INSERT INTO integration_events (integration_id, type, actor, at) SELECT $1::uuid, 'activated', 'seed-' || n, '2026-01-01T00:00:00Z'::timestamptz + (n / 3) * interval '1 second' FROM generate_series(1, 25) n`,
      [owned],
    );
    const before = (await h.db.prisma.integrationEvent.findMany({ where: { integrationId: owned }, orderBy: [{ at: 'desc' }, { id: 'desc' }], select: { actor: true } })).map((r) => r.actor);
    const walked = await walk(`${BASE}/${owned}/events`, `${BASE}/{id}/events`, partner(OWNER), async (page) => {
      await sql(`INSERT INTO integration_events (integration_id, type, actor) VALUES ($1::uuid, 'deactivated', $2)`, [owned, `new-${page}`]);
    });
    expect(walked.map((r) => r.actor)).toEqual(before);
  });

  it('GET /{id}/alerts (newest first, ties on the same instant ordered by id)', async () => {
    await sql(
      `INSERT INTO alert_deliveries (integration_id, kind, data, created_at) SELECT $1::uuid, 'sync.failed', jsonb_build_object('n', n), '2026-01-01T00:00:00Z'::timestamptz + (n / 3) * interval '1 second' FROM generate_series(1, 25) n`,
      [owned],
    );
    const before = (await h.db.prisma.alertDelivery.findMany({ where: { integrationId: owned }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], select: { id: true } })).map((r) => r.id);
    const walked = await walk(`${BASE}/${owned}/alerts`, `${BASE}/{id}/alerts`, partner(OWNER), async () => {
      await sql(`INSERT INTO alert_deliveries (integration_id, kind, data) VALUES ($1::uuid, 'integration.down', '{}')`, [owned]);
    });
    expect(walked.map((r) => r.id)).toEqual(before);
  });

  it('GET /{id}/products (by OCTO id)', async () => {
    const insert = (ids: string[]) =>
      sql(`INSERT INTO products (integration_id, octo_id, raw, content_hash) SELECT $1::uuid, id, jsonb_build_object('id', id), 'h' FROM unnest($2::text[]) id`, [owned, ids]);
    const seeded = Array.from({ length: 30 }, (_, i) => `k${String(i * 10).padStart(3, '0')}`);
    await insert(seeded);
    const walked = (await walk(`${BASE}/${owned}/products`, `${BASE}/{id}/products`, partner(OWNER), async (page) => {
      // One before every row seen (OFFSET would repeat a row), one after every row (keyset finds it).
      await insert([`a${String(page).padStart(3, '0')}`, `z${String(page).padStart(3, '0')}`]);
    })).map((r) => r.id as string);
    expect(new Set(walked).size).toBe(walked.length);
    expect([...walked].sort()).toEqual(walked);
    expect(walked.filter((id) => id.startsWith('k'))).toEqual(seeded);
    expect(walked.some((id) => id.startsWith('z'))).toBe(true);
    expect(walked.some((id) => id.startsWith('a'))).toBe(false);
  });

  it('GET /{id}/availability (by start, undated slots last, then ids)', async () => {
    const insert = (ids: string[], startsAt: string | null) =>
      sql(
        `INSERT INTO availability_slots (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, local_date_time_start, starts_at, status, vacancies, capacity, order_key, order_source, raw)
         SELECT $1::uuid, slot_option_key($1::uuid, 'P', 'O'), 'infinity', 'P', 'O', id, NULL, $3::timestamptz, 'AVAILABLE', 1, 1, 1, 'sequence', jsonb_build_object('id', id) FROM unnest($2::text[]) id`,
        [owned, ids, startsAt],
      );
    for (let i = 0; i < 10; i++) await insert([`s${i}-a`, `s${i}-b`], `2026-08-01T${String(i).padStart(2, '0')}:00:00.000Z`);
    await insert(['u1', 'u2', 'u3', 'u4', 'u5'], null);
    const key = (r: Record<string, unknown>) => `${(r.starts_at as string | null) ?? '~'}|${r.availabilityId as string}`;
    const walked = await walk(`${BASE}/${owned}/availability`, `${BASE}/{id}/availability`, partner(OWNER), async (page) => {
      await insert([`early-${page}`], '2026-07-01T00:00:00.000Z');
      await insert([`late-${page}`], '2026-09-01T00:00:00.000Z');
    });
    const ids = walked.map((r) => r.availabilityId as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(walked.map(key)).toEqual([...walked.map(key)].sort());
    expect(ids.filter((id) => id.startsWith('s') || id.startsWith('u'))).toEqual([...Array.from({ length: 10 }, (_, i) => [`s${i}-a`, `s${i}-b`]).flat(), 'u1', 'u2', 'u3', 'u4', 'u5']);
    expect(ids.some((id) => id.startsWith('late-'))).toBe(true);
    expect(ids.some((id) => id.startsWith('early-'))).toBe(false);
  });
});

describe('keyset paging walks past every id the store holds (ids of any length, the empty one too)', () => {
  const long = (c: string) => c.repeat(1_000);

  it('GET /{id}/products with a 1,000-character id and an escaped one at page boundaries', async () => {
    const id = await create('p-keyset-long-products');
    // Ids 4th and 8th in order end the first two pages of 4; the escaped one (\u0001 is 6 characters in JSON) makes a cursor over 2,048 characters.
    const ids = ['b1', 'b2', 'b3', `b4${long('x')}`, 'b5', 'b6', 'b7', `b8${'\u0001'.repeat(400)}`, 'b9'];
    await sql(`INSERT INTO products (integration_id, octo_id, raw, content_hash) SELECT $1::uuid, id, '{}', 'h' FROM unnest($2::text[]) id`, [id, ids]);
    const walked = await walk(`${BASE}/${id}/products`, `${BASE}/{id}/products`, partner('p-keyset-long-products'), async () => {});
    expect(walked.map((r) => r.id)).toEqual(ids);
  });

  it('GET /{id}/availability with empty and 1,000-character ids at page boundaries', async () => {
    const id = await create('p-keyset-long-slots');
    const slot = (product: string, option: string, availability: string, hour: number) => [product, option, availability, `2026-08-01T${String(hour).padStart(2, '0')}:00:00.000Z`];
    const rows = [
      slot('P', 'O', 'a1', 1),
      slot('P', 'O', 'a2', 2),
      slot('P', 'O', 'a3', 3),
      slot('P', '', '', 4),
      slot('P', 'O', 'a5', 5),
      slot('P', 'O', 'a6', 6),
      slot('P', 'O', 'a7', 7),
      slot(long('p'), long('o'), long('a'), 8),
      slot('P', 'O', 'a9', 9),
    ];
    await sql(
      `INSERT INTO availability_slots (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, starts_at, status, vacancies, capacity, order_key, order_source, raw)
       SELECT $1::uuid, slot_option_key($1::uuid, r[1], r[2]), 'infinity', r[1], r[2], r[3], r[4]::timestamptz, 'AVAILABLE', 1, 1, 1, 'sequence', '{}' FROM jsonb_array_elements($2::jsonb) e, LATERAL (SELECT ARRAY(SELECT jsonb_array_elements_text(e)) r) x`,
      [id, JSON.stringify(rows)],
    );
    const walked = await walk(`${BASE}/${id}/availability`, `${BASE}/{id}/availability`, partner('p-keyset-long-slots'), async () => {});
    expect(walked.map((r) => r.availabilityId)).toEqual(rows.map((r) => r[2]));
  });
});

describe('cursors are checked', () => {
  it('answers 400 naming after for a malformed cursor, a cursor of another list and after with page > 1', async () => {
    const auth = partner(OWNER);
    const first = await h.http().get(`${BASE}/${owned}/products?pageSize=1`).set(auth);
    const cursor = first.body.pagination.next as string;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const bad = [
      `${BASE}/${owned}/products?after=not%20base64`,
      `${BASE}/${owned}/products?after=${Buffer.from('{"id":1}').toString('base64url')}`,
      `${BASE}/${owned}/events?after=${cursor}`,
      `${BASE}/${owned}/alerts?after=${cursor}`,
      `${BASE}/${owned}/availability?after=${cursor}`,
      `${BASE}/admin?after=${cursor}`,
      `${BASE}/${owned}/products?page=2&after=${cursor}`,
    ];
    for (const url of bad) {
      const res = await h.http().get(url).set(url.includes('/admin') ? admin() : auth);
      expect({ url, status: res.status, reason: res.body.reason }).toEqual({ url, status: 400, reason: 'VALIDATION_FAILED' });
      expect(res.body.error).toEqual([expect.stringMatching(/^after: /)]);
    }
  });
});

describe(`totalCount is exact up to ${COUNT_CAP}, then a lower bound`, () => {
  let big: string;
  beforeAll(async () => {
    big = await create('p-keyset-big');
  });

  async function expectCapped(path: string, auth: Record<string, string>, rows: number): Promise<void> {
    const res = await h.http().get(`${path}?pageSize=1`).set(auth);
    expect(res.status).toBe(200);
    const { totalCount, totalCountCapped } = res.body.pagination as { totalCount: number; totalCountCapped?: boolean };
    expect({ rows, totalCount, totalCountCapped }).toEqual(rows > COUNT_CAP ? { rows, totalCount: COUNT_CAP, totalCountCapped: true } : { rows, totalCount: rows, totalCountCapped: undefined });
  }

  it('for products, slots, events and alerts', async () => {
    const auth = partner('p-keyset-big');
    await sql(`INSERT INTO products (integration_id, octo_id, raw, content_hash) SELECT $1::uuid, 'c' || lpad(n::text, 6, '0'), '{}', 'h' FROM generate_series(1, $2::int) n`, [big, COUNT_CAP]);
    await expectCapped(`${BASE}/${big}/products`, auth, COUNT_CAP);
    await sql(`INSERT INTO products (integration_id, octo_id, raw, content_hash) VALUES ($1::uuid, 'c-one-more', '{}', 'h')`, [big]);
    await expectCapped(`${BASE}/${big}/products`, auth, COUNT_CAP + 1);

    await sql(
      `INSERT INTO availability_slots (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, starts_at, status, vacancies, capacity, order_key, order_source, raw)
       SELECT $1::uuid, slot_option_key($1::uuid, 'P', 'O'), 'infinity', 'P', 'O', 'c' || n, '2026-08-01T00:00:00Z'::timestamptz + n * interval '1 minute', 'AVAILABLE', 1, 1, 1, 'sequence', '{}' FROM generate_series(1, $2::int) n`,
      [big, COUNT_CAP + 1],
    );
    await expectCapped(`${BASE}/${big}/availability`, auth, COUNT_CAP + 1);
    await sql(`INSERT INTO integration_events (integration_id, type, actor) SELECT $1::uuid, 'activated', 'cap' FROM generate_series(1, $2::int) n`, [big, COUNT_CAP]);
    // Plus the `created` entry of the integration itself.
    await expectCapped(`${BASE}/${big}/events`, auth, COUNT_CAP + 1);
    await sql(`INSERT INTO alert_deliveries (integration_id, kind, data) SELECT $1::uuid, 'sync.failed', '{}' FROM generate_series(1, $2::int) n`, [big, COUNT_CAP + 1]);
    await expectCapped(`${BASE}/${big}/alerts`, auth, COUNT_CAP + 1);
  });

  it('for the admin list', async () => {
    const live = await h.db.prisma.integration.count({ where: { deletedAt: null } });
    // Copies of one integration under new ids and partners: only the list's columns matter here.
    await sql(
      `INSERT INTO integrations SELECT (jsonb_populate_record(i, jsonb_build_object('id', gen_random_uuid(), 'partner_id', 'cap-' || n, 'live_partner_id', 'cap-' || n))).*
       FROM integrations i, generate_series(1, $2::int) n WHERE i.id = $1::uuid`,
      [big, COUNT_CAP + 1 - live],
    );
    await expectCapped(`${BASE}/admin`, admin(), COUNT_CAP + 1);
  });
});

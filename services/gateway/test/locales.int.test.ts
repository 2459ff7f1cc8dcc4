import { BASE, createBody, useGateway } from './harness';

const { h, check, partner, admin } = useGateway();

async function create(partnerId: string, locales?: unknown): Promise<{ status: number; body: { data: Record<string, unknown> } & Record<string, unknown> }> {
  const res = await h.http().post(BASE).set(partner(partnerId)).send(createBody(locales === undefined ? {} : { locales }));
  return { status: res.status, body: res.body };
}

/** Two products with one option and one unit each, as a sync in `catalog_locale` stored them, and German content for p1 only. */
async function seed(integrationId: string, catalogLocale: string): Promise<void> {
  await h.db.pool.query(`UPDATE integrations SET catalog_locale = $2 WHERE id = $1`, [integrationId, catalogLocale]);
  await h.db.pool.query(
    `INSERT INTO products (integration_id, octo_id, title, raw, content_hash)
     SELECT $1::uuid, id, 'Tour ' || id, jsonb_build_object('id', id, 'title', 'Tour ' || id, 'description', 'About ' || id, 'vendorExtra', 1), 'h'
     FROM (VALUES ('p1'), ('p2')) v(id)`,
    [integrationId],
  );
  await h.db.pool.query(
    `INSERT INTO product_options (product_id, octo_id, raw, content_hash)
     SELECT id, 'DEFAULT', jsonb_build_object('id', 'DEFAULT', 'title', 'Morning'), 'o' FROM products WHERE integration_id = $1::uuid`,
    [integrationId],
  );
  await h.db.pool.query(
    `INSERT INTO units (option_id, octo_id, raw, content_hash)
     SELECT o.id, 'adult', jsonb_build_object('id', 'adult', 'title', 'Adult'), 'u' FROM product_options o JOIN products p ON p.id = o.product_id WHERE p.integration_id = $1::uuid`,
    [integrationId],
  );
  await h.db.pool.query(
    `INSERT INTO catalog_localizations (integration_id, locale, product_octo_id, option_octo_id, unit_octo_id, content, content_hash)
     VALUES ($1, 'de', 'p1', '', '', '{"title": "Rundgang p1", "description": "Über p1"}', 'a'),
            ($1, 'de', 'p1', 'DEFAULT', '', '{"title": "Morgens"}', 'b'),
            ($1, 'de', 'p1', 'DEFAULT', 'adult', '{"title": "Erwachsener"}', 'c')`,
    [integrationId],
  );
}

describe('locales', () => {
  test('default ["en"]; set on create, PATCH /me and PATCH /admin/{id}; shown; a bad tag or a repeat is refused', async () => {
    const plain = await create('p-locales-default');
    expect(plain.status).toBe(201);
    check('post', BASE, 201, plain.body);
    expect(plain.body.data).toMatchObject({ locales: ['en'], catalog_locale: null });

    const three = await create('p-locales-three', ['en', 'de-DE', 'fr']);
    expect(three.status).toBe(201);
    expect(three.body.data.locales).toEqual(['en', 'de-DE', 'fr']);

    const patched = await h.http().patch(`${BASE}/me`).set(partner('p-locales-three')).send({ locales: ['de', 'en'] });
    expect(patched.status).toBe(200);
    check('patch', `${BASE}/me`, 200, patched.body);
    expect(patched.body.data.locales).toEqual(['de', 'en']);

    const byAdmin = await h.http().patch(`${BASE}/admin/${three.body.data._id as string}`).set(admin()).send({ locales: ['it'] });
    expect(byAdmin.status).toBe(200);
    const shown = await h.http().get(`${BASE}/me`).set(partner('p-locales-three'));
    expect(shown.body.data.locales).toEqual(['it']);

    for (const bad of [[], ['en', 'EN'], ['english!'], ['en', 7]]) {
      const refused = await h.http().patch(`${BASE}/me`).set(partner('p-locales-three')).send({ locales: bad });
      expect({ bad, status: refused.status }).toEqual({ bad, status: 400 });
    }
  });

  test('?locale= serves that language per product, falls back to the first locale, and says which it served', async () => {
    const created = await create('p-locales-read', ['en', 'de', 'fr']);
    const id = created.body.data._id as string;
    await seed(id, 'en');
    const get = (path: string) => h.http().get(`${BASE}/${id}${path}`).set(partner('p-locales-read'));

    const de = await get('/products?locale=de');
    expect(de.status).toBe(200);
    check('get', `${BASE}/{id}/products`, 200, de.body);
    expect(de.body.data.map((p: { id: string; locale: string; title: string }) => [p.id, p.locale, p.title])).toEqual([
      ['p1', 'de', 'Rundgang p1'],
      ['p2', 'en', 'Tour p2'],
    ]);
    const key = expect.stringMatching(/^[0-9a-f-]{36}$/);
    expect(de.body.data[0].options).toEqual([{ id: 'DEFAULT', key, active: true, title: 'Morgens', units: [{ id: 'adult', key, active: true, title: 'Erwachsener' }] }]);

    const plain = await get('/products');
    expect(plain.body.data.map((p: { locale: string; title: string }) => [p.locale, p.title])).toEqual([
      ['en', 'Tour p1'],
      ['en', 'Tour p2'],
    ]);

    const one = await get('/products/p1?locale=DE');
    expect(one.status).toBe(200);
    check('get', `${BASE}/{id}/products/{productId}`, 200, one.body);
    expect(one.body.data).toMatchObject({ locale: 'de', title: 'Rundgang p1', content: { title: 'Rundgang p1', description: 'Über p1' } });
    const fr = await get('/products/p1?locale=fr');
    expect(fr.body.data).toMatchObject({ locale: 'en', title: 'Tour p1', content: { title: 'Tour p1', description: 'About p1' } });
    expect(fr.body.data.content).not.toHaveProperty('vendorExtra');

    expect((await get('/products?locale=not_a_tag')).status).toBe(400);
  });

  test('when the catalog rows are in another language than the first locale, a product without either is served in the rows\' own (any)', async () => {
    const created = await create('p-locales-any', ['en', 'de']);
    const id = created.body.data._id as string;
    await seed(id, 'it');
    const res = await h.http().get(`${BASE}/${id}/products?locale=fr`).set(partner('p-locales-any'));
    expect(res.body.data.map((p: { id: string; locale: string }) => [p.id, p.locale])).toEqual([
      ['p1', 'it'],
      ['p2', 'it'],
    ]);
    const de = await h.http().get(`${BASE}/${id}/products?locale=de`).set(partner('p-locales-any'));
    expect(de.body.data.map((p: { id: string; locale: string }) => [p.id, p.locale])).toEqual([
      ['p1', 'de'],
      ['p2', 'it'],
    ]);
  });

  test('a locale dropped from the list is not served, though its rows wait for the next run', async () => {
    const created = await create('p-locales-dropped', ['en', 'de']);
    const id = created.body.data._id as string;
    await seed(id, 'en');
    const get = (path: string) => h.http().get(`${BASE}/${id}${path}`).set(partner('p-locales-dropped'));
    expect((await get('/products/p1?locale=de')).body.data).toMatchObject({ locale: 'de', title: 'Rundgang p1' });
    expect((await h.http().patch(`${BASE}/me`).set(partner('p-locales-dropped')).send({ locales: ['en', 'fr'] })).status).toBe(200);
    expect((await get('/products/p1?locale=de')).body.data).toMatchObject({ locale: 'en', title: 'Tour p1' });
    const list = await get('/products?locale=de');
    expect(list.body.data.map((p: { id: string; locale: string }) => [p.id, p.locale])).toEqual([
      ['p1', 'en'],
      ['p2', 'en'],
    ]);
  });
});

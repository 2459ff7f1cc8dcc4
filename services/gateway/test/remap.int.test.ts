import { BASE, createBody, useGateway } from './harness';

const { h, check, admin } = useGateway();

/** OLD left the catalog, NEW is in it: each with its DEFAULT option, as a sync stores them. */
async function seed(integrationId: string): Promise<void> {
  await h.db.pool.query(
    `INSERT INTO products (integration_id, octo_id, raw, content_hash, active, removed_at)
     VALUES ($1::uuid, 'OLD', '{}', 'h-old', false, now()), ($1::uuid, 'NEW', '{}', 'h-new', true, NULL)`,
    [integrationId],
  );
  await h.db.pool.query(
    `INSERT INTO product_options (product_id, octo_id, raw, content_hash) SELECT p.id, 'DEFAULT', '{}', 'o' FROM products p WHERE p.integration_id = $1::uuid`,
    [integrationId],
  );
}

describe('POST /admin/{id}/products/{productId}/remap', () => {
  test('behind a pull writing the option it answers 409 REMAP_BUSY with Retry-After; once the pull is done it remaps', async () => {
    const created = await h.http().post(`${BASE}/admin/create`).set(admin()).send(createBody({ partner_id: 'p-remap-busy' }));
    const id = created.body.data._id as string;
    await seed(id);
    const path = `${BASE}/admin/${id}/products/OLD/remap`;
    const day = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

    // A pull's write transaction over NEW's option holds the option's lock until it commits.
    const pull = await h.db.pool.connect();
    try {
      await pull.query('BEGIN');
      await h.db.pulls.reconcile(pull, id, [{ productId: 'NEW', optionId: 'DEFAULT', from: day, to: day, answerKey: BigInt(Date.now()) * 1_000_000n, slots: [] }]);
      const busy = await h.http().post(path).set(admin()).send({ to: 'NEW' });
      expect([busy.status, busy.body.reason, busy.headers['retry-after']]).toEqual([409, 'REMAP_BUSY', '5']);
      check('post', `${BASE}/admin/{id}/products/{productId}/remap`, 409, busy.body);
      await pull.query('COMMIT');
    } finally {
      pull.release();
    }
    const done = await h.http().post(path).set(admin()).send({ to: 'NEW' });
    expect(done.status).toBe(200);
    expect(done.body.data).toMatchObject({ from: 'OLD', to: 'NEW' });
  });
});

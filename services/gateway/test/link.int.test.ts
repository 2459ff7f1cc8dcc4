import { BASE, createBody, useGateway } from './harness';

const { h, check, admin } = useGateway();

describe('POST /admin/{id}/link', () => {
  test('behind a transaction holding the integration (a catalog run\'s) it answers 409 SYNC_IN_PROGRESS with Retry-After, links nothing; then it links', async () => {
    const create = async () => (await h.http().post(`${BASE}/admin/create`).set(admin()).send(createBody({ partner_id: 'p-link-busy' }))).body.data._id as string;
    const previous = await create();
    await h.db.integrations.softDelete(previous, 'admin-1'); // a partner has one live integration at a time
    const id = await create();
    const path = `${BASE}/admin/${id}/link`;

    // A catalog run's fenced transaction holds its integration's row FOR NO KEY UPDATE until it commits.
    const run = await h.db.pool.connect();
    try {
      await run.query('BEGIN');
      await run.query(`SELECT 1 FROM integrations WHERE id = $1::uuid FOR NO KEY UPDATE`, [id]);
      const busy = await h.http().post(path).set(admin()).send({ previous });
      expect([busy.status, busy.body.reason, busy.headers['retry-after']]).toEqual([409, 'SYNC_IN_PROGRESS', '5']);
      check('post', `${BASE}/admin/{id}/link`, 409, busy.body);
      const linked = await h.db.pool.query(`SELECT previous_integration_id FROM integrations WHERE id = $1::uuid`, [id]);
      expect(linked.rows).toEqual([{ previous_integration_id: null }]);
      await run.query('COMMIT');
    } finally {
      run.release();
    }
    const done = await h.http().post(path).set(admin()).send({ previous });
    expect(done.status).toBe(200);
    check('post', `${BASE}/admin/{id}/link`, 200, done.body);
    expect(done.body.data).toEqual({ previous, products: 0 });
  });
});

import { BASE, createBody, useGateway } from './harness';

describe('alerts_url and GET /{id}/alerts', () => {
  const { h: g } = useGateway();

  const as = (token: string) => ({
    post: (path: string, body: object) => g.http().post(path).set('authorization', `Bearer ${token}`).send(body),
    patch: (path: string, body: object) => g.http().patch(path).set('authorization', `Bearer ${token}`).send(body),
    get: (path: string) => g.http().get(path).set('authorization', `Bearer ${token}`),
  });

  it('takes an https alerts_url on create and PATCH /me, and null stops the alerts', async () => {
    const partner = as(g.token('partner', 'partner-alerts'));
    const created = await partner.post(BASE, createBody({ alerts_url: 'https://ops.example-partner.com/alerts/' }));
    expect(created.status).toBe(201);
    expect(created.body.data.alerts_url).toBe('https://ops.example-partner.com/alerts');
    const cleared = await partner.patch(`${BASE}/me`, { alerts_url: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.data.alerts_url).toBeNull();
    const admin = as(g.token('admin', 'ops'));
    const set = await admin.patch(`${BASE}/admin/${created.body.data._id}`, { alerts_url: 'https://hooks.example-partner.com/octo' });
    expect(set.status).toBe(200);
    expect(set.body.data.alerts_url).toBe('https://hooks.example-partner.com/octo');
  });

  it('refuses a private, loopback or plain-http alerts_url as it refuses such a base_url', async () => {
    const partner = as(g.token('partner', 'partner-ssrf'));
    for (const url of ['https://10.0.0.7/alerts', 'https://127.0.0.1:8443/alerts', 'https://[::1]/alerts', 'https://localhost/alerts', 'http://ops.example-partner.com/alerts']) {
      const res = await partner.post(BASE, createBody({ alerts_url: url }));
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual([expect.stringMatching(/^alerts_url: /)]);
    }
    expect((await partner.post(BASE, createBody())).status).toBe(201);
    expect((await partner.patch(`${BASE}/me`, { alerts_url: 'https://169.254.169.254/latest' })).status).toBe(400);
  });

  it('lists the deliveries to the owner and admins, newest first, and to nobody else', async () => {
    const owner = as(g.token('partner', 'partner-list'));
    const id = (await owner.post(BASE, createBody({ alerts_url: 'https://ops.example-partner.com/alerts' }))).body.data._id as string;
    const first = await g.db.alerts.create(id, 'integration.degraded', { integration_id: id });
    await g.db.alerts.recordAttempt(first.id, { status: 'delivered', statusCode: 204, error: null });
    await g.db.prisma.alertDelivery.update({ where: { id: first.id }, data: { createdAt: new Date(Date.now() - 60_000) } });
    await g.db.alerts.create(id, 'integration.down', { integration_id: id });
    const page = await owner.get(`${BASE}/${id}/alerts?pageSize=1`);
    expect(page.status).toBe(200);
    expect(page.body.pagination).toEqual({ page: 1, pageSize: 1, totalCount: 2, next: expect.any(String) });
    expect(page.body.data).toEqual([expect.objectContaining({ type: 'integration.down', status: 'pending', attempts: 0, last_status_code: null })]);
    const all = await as(g.token('admin', 'ops')).get(`${BASE}/${id}/alerts`);
    expect(all.body.data[1]).toMatchObject({ id: first.id, type: 'integration.degraded', status: 'delivered', attempts: 1, last_status_code: 204 });
    expect((await as(g.token('partner', 'someone-else')).get(`${BASE}/${id}/alerts`)).status).toBe(404);
  });
});

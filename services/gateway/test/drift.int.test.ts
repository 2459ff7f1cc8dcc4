import { ADMIN_SUB, BASE, createBody, useGateway } from './harness';

const { h, check, partner, admin } = useGateway();

/** What a sync under `quarantine` or `block` leaves when it holds a shape back (the worker's part is tested in services/worker/test/drift.int.test.ts). */
async function holdShape(integrationId: string): Promise<void> {
  const drift = { added: [{ path: 'product.meetingPoint', types: ['object'] }], removed: [], retyped: [], capabilities: { added: [], removed: [] }, headers: { added: [], removed: [] } };
  await h.db.prisma.catalogShape.create({ data: { integrationId, hash: 'a'.repeat(64), shape: { paths: {} }, pendingHash: 'b'.repeat(64), pendingShape: { paths: {} }, pendingDrift: drift, pendingSince: new Date() } });
}

describe('drift_policy and the held shape', () => {
  test('an admin sets drift_policy on create and PATCH; a partner sees it and cannot set it', async () => {
    const created = await h.http().post(`${BASE}/admin/create`).set(admin()).send(createBody({ partner_id: 'p-drift-1', drift_policy: 'block', isApproved: false }));
    expect(created.status).toBe(201);
    check('post', `${BASE}/admin/create`, 201, created.body);
    expect(created.body.data.drift_policy).toBe('block');
    const id = created.body.data._id as string;

    const patched = await h.http().patch(`${BASE}/admin/${id}`).set(admin()).send({ drift_policy: 'quarantine' });
    expect(patched.status).toBe(200);
    check('patch', `${BASE}/admin/{id}`, 200, patched.body);
    expect(patched.body.data.drift_policy).toBe('quarantine');
    const bad = await h.http().patch(`${BASE}/admin/${id}`).set(admin()).send({ drift_policy: 'ignore' });
    expect(bad.status).toBe(400);

    const mine = await h.http().get(`${BASE}/me`).set(partner('p-drift-1'));
    expect(mine.body.data.drift_policy).toBe('quarantine');
    expect((await h.http().patch(`${BASE}/me`).set(partner('p-drift-1')).send({ drift_policy: 'accept' })).status).toBe(400);
    expect((await h.http().post(BASE).set(partner('p-drift-2')).send(createBody({ drift_policy: 'accept' }))).status).toBe(400);
    const plain = await h.http().post(BASE).set(partner('p-drift-3')).send(createBody());
    expect(plain.body.data.drift_policy).toBe('accept');
  });

  test('GET /{id}/drift shows the held shape; an admin accepts it once (audit entry), then 409', async () => {
    const created = await h.http().post(`${BASE}/admin/create`).set(admin()).send(createBody({ partner_id: 'p-drift-4', drift_policy: 'quarantine', isApproved: false }));
    const id = created.body.data._id as string;
    const none = await h.http().get(`${BASE}/${id}/drift`).set(partner('p-drift-4'));
    expect(none.status).toBe(200);
    check('get', `${BASE}/{id}/drift`, 200, none.body);
    expect(none.body.data).toEqual({ drift_policy: 'quarantine', pending: null });
    expect((await h.http().get(`${BASE}/${id}/drift`).set(partner('someone-else'))).status).toBe(404);

    await holdShape(id);
    const held = await h.http().get(`${BASE}/${id}/drift`).set(partner('p-drift-4'));
    check('get', `${BASE}/{id}/drift`, 200, held.body);
    expect(held.body.data.pending).toMatchObject({ hash: 'b'.repeat(64), drift: { added: [{ path: 'product.meetingPoint', types: ['object'] }] } });

    expect((await h.http().post(`${BASE}/admin/${id}/drift/accept`).set(partner('p-drift-4'))).status).toBe(403);
    await h.http().post(`${BASE}/admin/${id}/approve`).set(admin());
    const accepted = await h.http().post(`${BASE}/admin/${id}/drift/accept`).set(admin());
    expect(accepted.status).toBe(200);
    check('post', `${BASE}/admin/{id}/drift/accept`, 200, accepted.body);
    expect(accepted.body.data).toMatchObject({ accepted: true, run_id: expect.any(String) });
    const shape = await h.db.prisma.catalogShape.findUniqueOrThrow({ where: { integrationId: id } });
    expect(shape).toMatchObject({ hash: 'b'.repeat(64), pendingHash: null });
    const events = await h.http().get(`${BASE}/${id}/events`).set(partner('p-drift-4'));
    check('get', `${BASE}/{id}/events`, 200, events.body);
    expect(events.body.data[0]).toMatchObject({ type: 'supplier_drift_accepted', actor: ADMIN_SUB, details: { hash: 'b'.repeat(64) } });

    const again = await h.http().post(`${BASE}/admin/${id}/drift/accept`).set(admin());
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe('NO_DRIFT_PENDING');
  });
});

import { BASE, createBody, useGateway } from './harness';

const { h, check, admin } = useGateway({ WEBHOOK_RATE_LIMIT: '1000' });

/** Created unapproved and approved through the store, so that no first sync is queued. */
async function integration(partner: string) {
  const res = await h.http().post(`${BASE}/admin/create`).set(admin()).send({ partner_id: partner, ...createBody(), isApproved: false });
  expect(res.status).toBe(201);
  const created = res.body.data as { _id: string; webhook_secret: string };
  await h.db.integrations.setApproved(created._id, true);
  return created;
}

describe('POST /{id}/sync/trigger with {"productIds": [...]}', () => {
  const trigger = (it: { _id: string; webhook_secret: string }, body?: object) => {
    const req = h.http().post(`${BASE}/${it._id}/sync/trigger`).set({ 'x-webhook-secret': it.webhook_secret, Prefer: 'respond-async' });
    return body === undefined ? req : req.send(body);
  };

  test('queues a targeted run of those products; a second one merges into it; a full trigger widens it', async () => {
    const it = await integration('p-targeted');
    const res = await trigger(it, { productIds: ['p1', 'p2', 'p1'] });
    expect(res.status).toBe(202);
    check('post', `${BASE}/{id}/sync/trigger`, 202, res.body);
    const runId = res.body.data.run_id as string;
    expect(await h.db.runs.findRun(runId)).toMatchObject({ status: 'queued', productIds: ['p1', 'p2'] });

    expect((await trigger(it, { productIds: ['p3'] })).body.data.run_id).toBe(runId);
    expect((await h.db.runs.findRun(runId))!.productIds).toEqual(['p1', 'p2', 'p3']);
    expect((await trigger(it)).body.data.run_id).toBe(runId);
    expect((await h.db.runs.findRun(runId))!.productIds).toEqual([]);
    // The full run now queued covers any targeted request.
    expect((await trigger(it, { productIds: ['p4'] })).body.data.run_id).toBe(runId);
    expect((await h.db.runs.findRun(runId))!.productIds).toEqual([]);
  });

  test('an empty list, more than 100 ids, or ids that are not strings answer 400 and queue nothing', async () => {
    const it = await integration('p-targeted-400');
    const many = Array.from({ length: 101 }, (_, i) => `p${i}`);
    for (const productIds of [[], many, [1]]) {
      const res = await trigger(it, { productIds });
      expect(res.status).toBe(400);
      expect(res.body.reason).toBe('VALIDATION_FAILED');
      expect(res.body.error.join(' ')).toMatch(/productIds/);
    }
    expect(await h.db.runs.listRuns(it._id, 5)).toEqual([]);
  });
});

describe('POST /{id}/availability/refresh', () => {
  test('a POST without a body runs a pull of the whole window', async () => {
    const it = await integration('p-refresh-bodyless');
    const res = await h.http().post(`${BASE}/${it._id}/availability/refresh`).set({ ...admin(), Prefer: 'respond-async' });
    expect(res.status).toBe(202);
    check('post', `${BASE}/{id}/availability/refresh`, 202, res.body);
    expect(await h.db.runs.findRun(res.body.data.run_id as string)).toMatchObject({ kind: 'availability_pull', trigger: 'refresh' });
    const invalid = await h.http().post(`${BASE}/${it._id}/availability/refresh`).set(admin()).send({ optionId: 'o1' });
    expect(invalid.status).toBe(400);
  });
});

describe('refresh runs record the request ids that asked for them', () => {
  test('an availability refresh: its run has the request id, one joining it adds its own, and the job carries the first', async () => {
    const it = await integration('p-refresh-ids');
    const refresh = (requestId: string) => h.http().post(`${BASE}/${it._id}/availability/refresh`).set({ ...admin(), Prefer: 'respond-async', 'x-request-id': requestId }).send({});
    const first = await refresh('refresh-req-1');
    expect(first.status).toBe(202);
    const runId = first.body.data.run_id as string;
    expect((await refresh('refresh-req-2')).body.data.run_id).toBe(runId);
    expect(await h.db.runs.findRun(runId)).toMatchObject({ kind: 'availability_pull', requestIds: ['refresh-req-1', 'refresh-req-2'] });
    expect((await h.producer.queue('pulls').getJob(`pull-${runId}`))?.data).toMatchObject({ runId, requestId: 'refresh-req-1' });
    const log = await h.http().get(`${BASE}/${it._id}/sync-log`).set(admin());
    expect(log.body.data.runs[0]).toMatchObject({ run_id: runId, request_ids: ['refresh-req-1', 'refresh-req-2'], attempts: 0 });
  });

  test('a targeted catalog refresh: its run has the request ids of the triggers that made and joined it', async () => {
    const it = await integration('p-targeted-ids');
    const trigger = (requestId: string, productIds: string[]) =>
      h.http().post(`${BASE}/${it._id}/sync/trigger`).set({ 'x-webhook-secret': it.webhook_secret, Prefer: 'respond-async', 'x-request-id': requestId }).send({ productIds });
    const runId = (await trigger('targeted-req-1', ['p1'])).body.data.run_id as string;
    expect((await trigger('targeted-req-2', ['p2'])).body.data.run_id).toBe(runId);
    expect(await h.db.runs.findRun(runId)).toMatchObject({ productIds: ['p1', 'p2'], requestIds: ['targeted-req-1', 'targeted-req-2'] });
  });
});

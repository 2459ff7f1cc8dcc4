import { BASE, createBody, startGateway, type GatewayHarness } from './harness';
import { openApiValidator } from './openapi-validator';

let h: GatewayHarness;
let check: ReturnType<typeof openApiValidator>;

beforeAll(async () => {
  h = await startGateway({ WEBHOOK_RATE_LIMIT: '1000' });
  check = openApiValidator(h.app.locals.openapi());
});
afterAll(async () => {
  await h?.close();
});

const admin = () => ({ Authorization: `Bearer ${h.token('admin', 'admin-1')}` });

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

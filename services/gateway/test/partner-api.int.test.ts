import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Response } from 'supertest';
import { catalogSyncJob } from '@octo-sync/jobs';
import { BASE, createBody, JWT_SECRET, startGateway, useGateway } from './harness';

const { h, check } = useGateway();

/** Asserts the status and that the body matches the OpenAPI response of that route and status. */
function expectDocumented(res: Response, method: string, template: string, status: number): void {
  expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status });
  check(method, template, status, res.body);
}

function expectError(res: Response, status: number, reason: string): void {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ success: 0, error: expect.any(Array), message: expect.any(String), code: status, reason });
  expect((res.body as { error: unknown[] }).error.length).toBeGreaterThan(0);
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function createAs(partner: string, overrides: Record<string, unknown> = {}) {
  const res = await h.http().post(BASE).set(bearer(h.token('partner', partner))).send(createBody(overrides));
  expect(res.status).toBe(201);
  return res.body.data as Record<string, unknown> & { _id: string; webhook_secret: string };
}

async function adminCreate(partner: string, overrides: Record<string, unknown> = {}) {
  const res = await h
    .http()
    .post(`${BASE}/admin/create`)
    .set(bearer(h.token('admin', 'admin-1')))
    .send({ partner_id: partner, ...createBody(overrides) });
  expect(res.status).toBe(201);
  return res.body.data as Record<string, unknown> & { _id: string; webhook_secret: string };
}

describe('partner: create, read, update, delete', () => {
  test('POST / creates an unapproved integration, answers the integration plus the secret once, and stores auth_key encrypted', async () => {
    const res = await h.http().post(BASE).set(bearer(h.token('partner', 'p-create'))).send(createBody());
    expectDocumented(res, 'post', BASE, 201);
    const data = res.body.data;
    expect(Object.keys(data).sort()).toEqual(
      [
        ...['_id', 'partner_id', 'base_url', 'auth_type', 'handles_ticket_delivery', 'isActive', 'isApproved', 'sync', 'health', 'createdAt', 'updatedAt', 'availability_pull'],
        ...['webhook_auth', 'signing_available', 'webhook_secret', 'webhook_signing_secret', 'alerts_url', 'supplier_budget', 'drift_policy', 'currencies', 'currency_checks'],
        ...['locales', 'catalog_locale'],
      ].sort(),
    );
    expect(data).toMatchObject({
      partner_id: 'p-create',
      base_url: 'https://octo.example-partner.com/api',
      auth_type: 'bearer',
      handles_ticket_delivery: false,
      isActive: true,
      isApproved: false,
      sync: { status: 'idle', last_sync_at: null, last_sync_hash: null, last_checked_at: null, error_message: null },
      health: { status: 'HEALTHY', last_probe_at: null, last_success_at: null, consecutive_failures: 0, degraded_since: null, down_since: null },
    });
    expect(data.webhook_secret).toMatch(/^[0-9a-f]{64}$/);
    expect(data.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const [row] = await h.db.prisma.$queryRaw<Array<Record<string, unknown>>>`SELECT * FROM integrations WHERE id = ${data._id}::uuid`;
    const stored = JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    expect(stored).not.toContain('sk_live_partner_credential_0001');
    expect(stored).not.toContain(data.webhook_secret);
    const integration = await h.db.integrations.findLive(data._id);
    expect(h.db.integrations.readAuthKey(integration!)).toBe('sk_live_partner_credential_0001');
  });

  test('the webhook secret and auth_key never appear again: not in later responses, not in any log line', async () => {
    const created = await createAs('p-secret');
    const secret = created.webhook_secret;
    const partner = bearer(h.token('partner', 'p-secret'));
    const admin = bearer(h.token('admin', 'admin-1'));
    const later: Array<[number, Response]> = [
      [200, await h.http().get(`${BASE}/me`).set(partner)],
      [200, await h.http().get(`${BASE}/${created._id}`).set(partner)],
      [200, await h.http().get(`${BASE}/${created._id}`).set(admin)],
      [200, await h.http().get(`${BASE}/admin?partner_id=p-secret`).set(admin)],
      [200, await h.http().patch(`${BASE}/me`).set(partner).send({ handles_ticket_delivery: true })],
      [200, await h.http().post(`${BASE}/admin/${created._id}/approve`).set(admin)],
      [200, await h.http().get(`${BASE}/${created._id}/sync-log`).set(partner)],
      [202, await h.http().post(`${BASE}/${created._id}/sync/trigger`).set({ 'x-webhook-secret': secret, Prefer: 'respond-async' })],
    ];
    for (const [index, [status, res]] of later.entries()) {
      expect({ index, status: res.status }).toEqual({ index, status });
      expect(res.text).not.toContain(secret);
      expect(res.text).not.toContain('sk_live_partner_credential_0001');
      expect(res.text).not.toContain('auth_key');
    }
    // A failed webhook with a wrong value that looks like a secret is not logged either.
    await h.http().post(`${BASE}/${created._id}/sync/trigger`).set('x-webhook-secret', 'f'.repeat(64));
    const logs = h.logText();
    expect(logs).toContain('request finished');
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain('f'.repeat(64));
    expect(logs).not.toContain('sk_live_partner_credential_0001');
    expect(logs).not.toContain(h.token('partner', 'p-secret').split('.')[2]);
  });

  test('a second live integration for the same partner is 409 INTEGRATION_EXISTS', async () => {
    await createAs('p-twice');
    const res = await h.http().post(BASE).set(bearer(h.token('partner', 'p-twice'))).send(createBody());
    expectError(res, 409, 'INTEGRATION_EXISTS');
    check('post', BASE, 409, res.body);
  });

  test('GET /me answers the caller’s integration, 404 when it has none', async () => {
    const created = await createAs('p-me');
    const res = await h.http().get(`${BASE}/me`).set(bearer(h.token('partner', 'p-me')));
    expectDocumented(res, 'get', `${BASE}/me`, 200);
    expect(res.body.data._id).toBe(created._id);
    expect(res.body.data).not.toHaveProperty('webhook_secret');
    const none = await h.http().get(`${BASE}/me`).set(bearer(h.token('partner', 'p-nobody')));
    expectError(none, 404, 'NOT_FOUND');
  });

  test('PATCH /me changes fields; a new base_url withdraws approval, the same one does not', async () => {
    const created = await createAs('p-patch');
    const partner = bearer(h.token('partner', 'p-patch'));
    await h.http().post(`${BASE}/admin/${created._id}/approve`).set(bearer(h.token('admin', 'a')));

    const keep = await h.http().patch(`${BASE}/me`).set(partner).send({ handles_ticket_delivery: true, auth_type: 'api_key', base_url: 'https://octo.example-partner.com/api//' });
    expectDocumented(keep, 'patch', `${BASE}/me`, 200);
    expect(keep.body.data).toMatchObject({ handles_ticket_delivery: true, auth_type: 'api_key', isApproved: true, base_url: 'https://octo.example-partner.com/api' });

    const key = await h.http().patch(`${BASE}/me`).set(partner).send({ auth_key: 'sk_rotated_9999' });
    expect(key.status).toBe(200);
    expect(key.body.data.isApproved).toBe(true);
    expect(h.db.integrations.readAuthKey((await h.db.integrations.findLive(created._id))!)).toBe('sk_rotated_9999');

    const moved = await h.http().patch(`${BASE}/me`).set(partner).send({ base_url: 'https://other.example.com/' });
    expect(moved.status).toBe(200);
    expect(moved.body.data).toMatchObject({ base_url: 'https://other.example.com', isApproved: false });
  });

  test('DELETE /me soft-deletes: products inactive, reads 404, webhook 401, a new integration may be created', async () => {
    const created = await createAs('p-delete');
    const partner = bearer(h.token('partner', 'p-delete'));
    await h.db.prisma.product.createMany({
      data: ['a', 'b'].map((octoId) => ({ integrationId: created._id, octoId, raw: {}, contentHash: octoId })),
    });
    const res = await h.http().delete(`${BASE}/me`).set(partner);
    expectDocumented(res, 'delete', `${BASE}/me`, 200);
    expect(res.body.data).toEqual({ _id: created._id, deleted: true });

    const products = await h.db.prisma.product.findMany({ where: { integrationId: created._id } });
    expect(products.map((p) => [p.active, p.removedAt !== null])).toEqual([
      [false, true],
      [false, true],
    ]);
    const row = await h.db.prisma.integration.findUnique({ where: { id: created._id } });
    expect(row?.deletedAt).not.toBeNull();

    expectError(await h.http().get(`${BASE}/me`).set(partner), 404, 'NOT_FOUND');
    expectError(await h.http().get(`${BASE}/${created._id}`).set(partner), 404, 'NOT_FOUND');
    expectError(await h.http().get(`${BASE}/${created._id}`).set(bearer(h.token('admin', 'a'))), 404, 'NOT_FOUND');
    expectError(await h.http().delete(`${BASE}/me`).set(partner), 404, 'NOT_FOUND');
    expectError(await h.http().post(`${BASE}/${created._id}/sync/trigger`).set('x-webhook-secret', created.webhook_secret), 401, 'WEBHOOK_SECRET_INVALID');

    const again = await createAs('p-delete');
    expect(again._id).not.toBe(created._id);
  });
});

describe('owner or admin reads', () => {
  test('GET /{id}: owner and admin 200; another partner, unknown and malformed ids all the same 404', async () => {
    const created = await createAs('p-owner');
    const owner = await h.http().get(`${BASE}/${created._id}`).set(bearer(h.token('partner', 'p-owner')));
    expectDocumented(owner, 'get', `${BASE}/{id}`, 200);
    const admin = await h.http().get(`${BASE}/${created._id}`).set(bearer(h.token('admin', 'a')));
    expect(admin.body).toEqual(owner.body);

    const other = await h.http().get(`${BASE}/${created._id}`).set(bearer(h.token('partner', 'p-intruder')));
    const unknown = await h.http().get(`${BASE}/00000000-0000-4000-8000-000000000000`).set(bearer(h.token('partner', 'p-intruder')));
    const malformed = await h.http().get(`${BASE}/not-a-uuid`).set(bearer(h.token('partner', 'p-intruder')));
    for (const res of [other, unknown, malformed]) expectError(res, 404, 'NOT_FOUND');
    expect(other.body).toEqual(unknown.body);
    expect(other.body).toEqual(malformed.body);
    for (const path of ['sync-log', 'health']) {
      expectError(await h.http().get(`${BASE}/${created._id}/${path}`).set(bearer(h.token('partner', 'p-intruder'))), 404, 'NOT_FOUND');
    }
  });

  test('GET /{id}/sync-log: current state and runs newest first with every run field, ?limit', async () => {
    const created = await createAs('p-log');
    const counts = { products: { created: 2, updated: 0, unchanged: 0, removed: 0 }, options: { created: 3, updated: 0, unchanged: 0, removed: 0 }, units: { created: 4, updated: 0, unchanged: 0, removed: 0 } };
    const t0 = Date.parse('2026-06-23T06:00:00.000Z');
    await h.db.prisma.syncRun.create({ data: { integrationId: created._id, trigger: 'webhook', status: 'succeeded', attempts: 1, queuedAt: new Date(t0), startedAt: new Date(t0 + 10), finishedAt: new Date(t0 + 110), durationMs: 100, payloadBytes: 1234, hash: 'a'.repeat(64), counts, synced: 2 } });
    await h.db.prisma.syncRun.create({ data: { integrationId: created._id, trigger: 'schedule', status: 'skipped', attempts: 2, queuedAt: new Date(t0 + 1000), startedAt: new Date(t0 + 1010), finishedAt: new Date(t0 + 1020), durationMs: 10, payloadBytes: 1234, hash: 'a'.repeat(64), synced: 0 } });
    await h.db.prisma.syncRun.create({ data: { integrationId: created._id, trigger: 'admin', status: 'failed', queuedAt: new Date(t0 + 2000), finishedAt: new Date(t0 + 2050), errorCode: 'SUPPLIER_AUTH_REJECTED', errorMessage: 'supplier answered 401 Unauthorized: check the auth_key and auth_type' } });
    await h.db.prisma.integration.update({ where: { id: created._id }, data: { syncStatus: 'error', syncErrorMessage: 'supplier answered 401 Unauthorized: check the auth_key and auth_type', lastSyncAt: new Date(t0 + 110), lastSyncHash: 'a'.repeat(64) } });

    const res = await h.http().get(`${BASE}/${created._id}/sync-log`).set(bearer(h.token('partner', 'p-log')));
    expectDocumented(res, 'get', `${BASE}/{id}/sync-log`, 200);
    expect(res.body.data.sync).toEqual({
      status: 'error',
      last_sync_at: '2026-06-23T06:00:00.110Z',
      last_sync_hash: 'a'.repeat(64),
      last_checked_at: null,
      error_message: 'supplier answered 401 Unauthorized: check the auth_key and auth_type',
    });
    const runs = res.body.data.runs as Array<Record<string, unknown>>;
    expect(runs.map((r) => r.status)).toEqual(['failed', 'skipped', 'succeeded']);
    expect(Object.keys(runs[0]!).sort()).toEqual(
      ['run_id', 'trigger', 'status', 'queued_at', 'started_at', 'finished_at', 'duration_ms', 'payload_bytes', 'hash', 'counts', 'warnings', 'warnings_omitted', 'error_code', 'error_message', 'progress', 'kind', 'attempts', 'request_ids', 'product_ids', 'throttled_ms'].sort(),
    );
    // Finished runs have no progress (only a running one does).
    expect(runs.map((r) => r.progress)).toEqual([null, null, null]);
    expect(runs[2]).toMatchObject({ trigger: 'webhook', queued_at: '2026-06-23T06:00:00.000Z', duration_ms: 100, payload_bytes: 1234, counts });
    expect(runs[0]).toMatchObject({ trigger: 'admin', started_at: null, counts: null, error_code: 'SUPPLIER_AUTH_REJECTED' });
    // Attempts spent so far (none for the run no worker claimed).
    expect(runs.map((r) => r.attempts)).toEqual([0, 2, 1]);

    const limited = await h.http().get(`${BASE}/${created._id}/sync-log?limit=1`).set(bearer(h.token('admin', 'a')));
    expect(limited.body.data.runs).toHaveLength(1);
    expectError(await h.http().get(`${BASE}/${created._id}/sync-log?limit=0`).set(bearer(h.token('admin', 'a'))), 400, 'VALIDATION_FAILED');
    expectError(await h.http().get(`${BASE}/${created._id}/sync-log?limit=101`).set(bearer(h.token('admin', 'a'))), 400, 'VALIDATION_FAILED');
  });

  test('GET /{id}/health answers the health object', async () => {
    const created = await createAs('p-health');
    await h.db.prisma.integration.update({ where: { id: created._id }, data: { healthStatus: 'DEGRADED', consecutiveFailures: 2, degradedSince: new Date('2026-06-23T06:00:00.000Z') } });
    const res = await h.http().get(`${BASE}/${created._id}/health`).set(bearer(h.token('partner', 'p-health')));
    expectDocumented(res, 'get', `${BASE}/{id}/health`, 200);
    expect(res.body.data).toEqual({ status: 'DEGRADED', last_probe_at: null, last_success_at: null, consecutive_failures: 2, degraded_since: '2026-06-23T06:00:00.000Z', down_since: null });
  });
});

describe('admin', () => {
  test('POST /admin/create is approved by default, may start unapproved, returns the secret once', async () => {
    const res = await h.http().post(`${BASE}/admin/create`).set(bearer(h.token('admin', 'a'))).send({ partner_id: 'p-admin-made', ...createBody() });
    expectDocumented(res, 'post', `${BASE}/admin/create`, 201);
    expect(res.body.data).toMatchObject({ partner_id: 'p-admin-made', isApproved: true, webhook_secret: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Approved at creation, so its first sync is queued at once, as approval does.
    const runs = await h.db.prisma.syncRun.findMany({ where: { integrationId: res.body.data._id } });
    expect(runs).toEqual([expect.objectContaining({ trigger: 'admin', status: 'queued' })]);
    expect(await h.producer.queue(catalogSyncJob.queue).getJob(`sync-${runs[0]!.id}`)).toBeDefined();
    const unapproved = await adminCreate('p-admin-unapproved', { isApproved: false });
    expect(unapproved.isApproved).toBe(false);
    expect(await h.db.prisma.syncRun.count({ where: { integrationId: unapproved._id } })).toBe(0);
    const missing = await h.http().post(`${BASE}/admin/create`).set(bearer(h.token('admin', 'a'))).send(createBody());
    expectError(missing, 400, 'VALIDATION_FAILED');
    expect(missing.body.error).toEqual(['partner_id: is required']);
  });

  test('GET /admin/queues shows every queue with its counts; partners may not see it', async () => {
    const res = await h.http().get(`${BASE}/admin/queues?failed=5`).set(bearer(h.token('admin', 'a')));
    expectDocumented(res, 'get', `${BASE}/admin/queues`, 200);
    const queues = res.body.data as Array<{ queue: string; counts: Record<string, number> }>;
    expect(queues.map((q) => q.queue).sort()).toEqual(['alerts', 'availability', 'catalog', 'health', 'probes', 'pulls', 'schedules']);
    expect(queues.find((q) => q.queue === 'catalog')!.counts).toMatchObject({ waiting: expect.any(Number), failed: expect.any(Number) });
    expectError(await h.http().get(`${BASE}/admin/queues`).set(bearer(h.token('partner', 'p'))), 403, 'FORBIDDEN');
  });

  test('GET /admin paginates and filters', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await adminCreate(`p-list-${i}`, { isApproved: i % 2 === 0 }));
    await h.db.prisma.integration.update({ where: { id: made[1]!._id }, data: { syncStatus: 'error', healthStatus: 'DOWN' } });
    const admin = bearer(h.token('admin', 'a'));

    const page = await h.http().get(`${BASE}/admin?page=2&pageSize=2`).set(admin);
    expectDocumented(page, 'get', `${BASE}/admin`, 200);
    expect(page.body.pagination).toEqual({ page: 2, pageSize: 2, totalCount: expect.any(Number), next: expect.any(String) });
    expect(page.body.data).toHaveLength(2);
    const all = await h.http().get(`${BASE}/admin?pageSize=100`).set(admin);
    expect(all.body.pagination.totalCount).toBe(all.body.data.length);
    const ids = (all.body.data as Array<{ _id: string }>).map((d) => d._id);
    expect(ids.slice(2, 4)).toEqual((page.body.data as Array<{ _id: string }>).map((d) => d._id));
    expect(ids.indexOf(made[4]!._id)).toBeLessThan(ids.indexOf(made[0]!._id)); // newest first

    const byPartner = await h.http().get(`${BASE}/admin?partner_id=p-list-3`).set(admin);
    expect((byPartner.body.data as Array<{ _id: string }>).map((d) => d._id)).toEqual([made[3]!._id]);
    const unapproved = await h.http().get(`${BASE}/admin?isApproved=false&partner_id=p-list-1`).set(admin);
    expect(unapproved.body.pagination.totalCount).toBe(1);
    const approvedOnly = await h.http().get(`${BASE}/admin?isApproved=true&pageSize=100`).set(admin);
    expect((approvedOnly.body.data as Array<{ isApproved: boolean }>).every((d) => d.isApproved)).toBe(true);
    const errored = await h.http().get(`${BASE}/admin?sync_status=error&health_status=DOWN`).set(admin);
    expect((errored.body.data as Array<{ _id: string }>).map((d) => d._id)).toEqual([made[1]!._id]);

    const bad = await h.http().get(`${BASE}/admin?pageSize=101&page=0&isApproved=yes&sync_status=busy&colour=red`).set(admin);
    expectError(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.error).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^pageSize: /),
        expect.stringMatching(/^page: /),
        expect.stringMatching(/^isApproved: /),
        expect.stringMatching(/^sync_status: /),
        'colour: is not a known field',
      ]),
    );
  });

  test('approve queues a first sync (trigger admin); revoke withdraws; both 404 for unknown ids', async () => {
    const created = await createAs('p-approve');
    const admin = bearer(h.token('admin', 'a'));
    const res = await h.http().post(`${BASE}/admin/${created._id}/approve`).set(admin);
    expectDocumented(res, 'post', `${BASE}/admin/{id}/approve`, 200);
    expect(res.body.data.isApproved).toBe(true);
    const runs = await h.db.runs.listRuns(created._id, 10);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ trigger: 'admin', status: 'queued' });
    const job = await h.producer.queue('catalog').getJob(`sync-${runs[0]!.id}`);
    expect(job?.data).toEqual({ integrationId: created._id, runId: runs[0]!.id, requestId: expect.any(String) });

    // Approving again changes nothing and queues nothing more.
    await h.http().post(`${BASE}/admin/${created._id}/approve`).set(admin);
    expect(await h.db.runs.listRuns(created._id, 10)).toHaveLength(1);

    const revoked = await h.http().post(`${BASE}/admin/${created._id}/revoke`).set(admin);
    expectDocumented(revoked, 'post', `${BASE}/admin/{id}/revoke`, 200);
    expect(revoked.body.data.isApproved).toBe(false);
    for (const action of ['approve', 'revoke']) {
      expectError(await h.http().post(`${BASE}/admin/00000000-0000-4000-8000-000000000000/${action}`).set(admin), 404, 'NOT_FOUND');
    }
  });

  test('PATCH /admin/{id} sets isActive', async () => {
    const created = await adminCreate('p-active');
    const admin = bearer(h.token('admin', 'a'));
    const res = await h.http().patch(`${BASE}/admin/${created._id}`).set(admin).send({ isActive: false });
    expectDocumented(res, 'patch', `${BASE}/admin/{id}`, 200);
    expect(res.body.data.isActive).toBe(false);
    const invalid = await h.http().patch(`${BASE}/admin/${created._id}`).set(admin).send({ isActive: 'no', isApproved: true });
    expectError(invalid, 400, 'VALIDATION_FAILED');
    expect(invalid.body.error).toEqual(expect.arrayContaining(['isActive: must be a boolean', 'isApproved: is not a known field']));
    expectError(await h.http().patch(`${BASE}/admin/00000000-0000-4000-8000-000000000000`).set(admin).send({ isActive: true }), 404, 'NOT_FOUND');
  });

  test('POST /admin/{id}/sync requests an admin run (force recorded) and answers like the webhook', async () => {
    const created = await adminCreate('p-admin-sync');
    const admin = bearer(h.token('admin', 'a'));
    const res = await h.http().post(`${BASE}/admin/${created._id}/sync?force=true`).set(admin).set('Prefer', 'respond-async');
    expectDocumented(res, 'post', `${BASE}/admin/{id}/sync`, 202);
    expect(res.headers.location).toBe(`${BASE}/${created._id}/sync-log`);
    const run = await h.db.runs.findRun(res.body.data.run_id);
    expect(run).toMatchObject({ trigger: 'admin', force: true, status: 'queued' });

    const unapproved = await adminCreate('p-admin-sync-2', { isApproved: false });
    expectError(await h.http().post(`${BASE}/admin/${unapproved._id}/sync`).set(admin), 409, 'INTEGRATION_NOT_APPROVED');
    expectError(await h.http().post(`${BASE}/admin/${created._id}/sync?force=maybe`).set(admin), 400, 'VALIDATION_FAILED');
  });
});

describe('authorization', () => {
  const path = `${BASE}/me`;
  const sign = (payload: object, key: string | Buffer, options: jwt.SignOptions) => jwt.sign(payload, key, options);

  test.each([
    ['no Authorization header', undefined],
    ['not a Bearer scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['garbage token', 'Bearer not.a.jwt'],
  ])('%s → 401 UNAUTHENTICATED with a Bearer challenge', async (_name, header) => {
    const req = h.http().get(path);
    const res = header === undefined ? await req : await req.set('Authorization', header);
    expectError(res, 401, 'UNAUTHENTICATED');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  test('an expired token → 401 (beyond the 5 s tolerance), a just-expired one is tolerated', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = sign({ sub: 'p1', role: 'partner', exp: now - 60 }, JWT_SECRET, { algorithm: 'HS256' });
    const res = await h.http().get(path).set(bearer(expired));
    expectError(res, 401, 'UNAUTHENTICATED');
    expect(res.body.error).toEqual(['authorization: token has expired']);
    const justExpired = sign({ sub: 'p-none', role: 'partner', exp: now - 2 }, JWT_SECRET, { algorithm: 'HS256' });
    expectError(await h.http().get(path).set(bearer(justExpired)), 404, 'NOT_FOUND');
  });

  test('a token without exp → 401', async () => {
    const token = sign({ sub: 'p1', role: 'partner' }, JWT_SECRET, { algorithm: 'HS256', noTimestamp: true });
    expectError(await h.http().get(path).set(bearer(token)), 401, 'UNAUTHENTICATED');
  });

  test('a token signed with another secret → 401', async () => {
    const token = sign({ sub: 'p1', role: 'partner' }, 'some-other-secret-0123456789', { algorithm: 'HS256', expiresIn: 60 });
    expectError(await h.http().get(path).set(bearer(token)), 401, 'UNAUTHENTICATED');
  });

  test('a token with an algorithm that is not pinned (HS512 with the right secret) → 401', async () => {
    const token = sign({ sub: 'p1', role: 'partner' }, JWT_SECRET, { algorithm: 'HS512', expiresIn: 60 });
    expectError(await h.http().get(path).set(bearer(token)), 401, 'UNAUTHENTICATED');
  });

  test('alg none → 401', async () => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: 'p1', role: 'admin', exp: Math.floor(Date.now() / 1000) + 60 })}.`;
    expectError(await h.http().get(`${BASE}/admin`).set(bearer(token)), 401, 'UNAUTHENTICATED');
  });

  test('an RS256 token (algorithm confusion attempt) → 401', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = sign({ sub: 'p1', role: 'admin' }, createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })).export({ format: 'pem', type: 'pkcs8' }), { algorithm: 'RS256', expiresIn: 60 });
    expectError(await h.http().get(`${BASE}/admin`).set(bearer(token)), 401, 'UNAUTHENTICATED');
  });

  test('a token without role or with an unknown role → 401', async () => {
    for (const payload of [{ sub: 'p1' }, { sub: 'p1', role: 'superuser' }, { role: 'partner' }]) {
      const token = sign(payload, JWT_SECRET, { algorithm: 'HS256', expiresIn: 60 });
      expectError(await h.http().get(path).set(bearer(token)), 401, 'UNAUTHENTICATED');
    }
  });

  test('wrong role → 403 FORBIDDEN, both ways', async () => {
    expectError(await h.http().get(`${BASE}/admin`).set(bearer(h.token('partner', 'p1'))), 403, 'FORBIDDEN');
    expectError(await h.http().post(`${BASE}/admin/create`).set(bearer(h.token('partner', 'p1'))).send({}), 403, 'FORBIDDEN');
    expectError(await h.http().get(`${BASE}/me`).set(bearer(h.token('admin', 'a'))), 403, 'FORBIDDEN');
    expectError(await h.http().post(BASE).set(bearer(h.token('admin', 'a'))).send(createBody()), 403, 'FORBIDDEN');
  });

  test('iss and aud are enforced when configured', async () => {
    const strict = await startGateway({ JWT_ISSUER: 'https://id.example.com', JWT_AUDIENCE: 'octo-sync' });
    try {
      const good = strict.token('partner', 'p-none');
      expectError(await strict.http().get(path).set(bearer(good)), 404, 'NOT_FOUND');
      const noIss = sign({ sub: 'p1', role: 'partner' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: 60, audience: 'octo-sync' });
      const wrongAud = sign({ sub: 'p1', role: 'partner' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: 60, issuer: 'https://id.example.com', audience: 'other' });
      for (const token of [noIss, wrongAud]) expectError(await strict.http().get(path).set(bearer(token)), 401, 'UNAUTHENTICATED');
    } finally {
      await strict.close();
    }
  });
});

describe('validation and body handling', () => {
  const partner = () => bearer(h.token('partner', 'p-validate'));

  test('every invalid field is listed, unknown fields rejected', async () => {
    const res = await h
      .http()
      .post(BASE)
      .set(partner())
      .send({ base_url: 'ftp://octo.example.com', auth_type: 'basic', auth_key: '', handles_ticket_delivery: 'yes', is_admin: true });
    expectError(res, 400, 'VALIDATION_FAILED');
    check('post', BASE, 400, res.body);
    expect(res.body.error).toEqual(
      expect.arrayContaining([
        'base_url: must use https',
        'auth_type: must be one of "bearer", "api_key"',
        'auth_key: must not be empty',
        'handles_ticket_delivery: must be a boolean',
        'is_admin: is not a known field',
      ]),
    );
    const empty = await h.http().post(BASE).set(partner()).send({});
    expect(empty.body.error).toEqual(['base_url: is required', 'auth_type: is required', 'auth_key: is required', 'handles_ticket_delivery: is required']);
  });

  test.each([
    ['http://octo.example.com', 'base_url: must use https'],
    ['/relative/path', 'base_url: must be an absolute URL, e.g. https://octo.example.com/api'],
    ['https://user:pass@octo.example.com', 'base_url: must not contain credentials (user:password@); send the key as auth_key'],
    ['https://octo.example.com/?x=1', 'base_url: must not contain a query string'],
    ['https://octo.example.com/#top', 'base_url: must not contain a fragment (#...)'],
    [' https://octo.example.com', 'base_url: must not start or end with whitespace'],
    [42, 'base_url: must be a string'],
  ])('base_url %p → %s', async (baseUrl, message) => {
    const res = await h.http().post(BASE).set(partner()).send(createBody({ base_url: baseUrl }));
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error).toEqual([message]);
  });

  test('plain http is accepted only when ALLOW_INSECURE_OCTO_URLS is set', async () => {
    const insecure = await startGateway({ ALLOW_INSECURE_OCTO_URLS: 'true', OCTO_ALLOWED_HOSTS: '127.0.0.1:8080' });
    try {
      const res = await insecure.http().post(BASE).set(bearer(insecure.token('partner', 'p-http'))).send(createBody({ base_url: 'http://127.0.0.1:8080///' }));
      expect(res.status).toBe(201);
      expect(res.body.data.base_url).toBe('http://127.0.0.1:8080');
      const ftp = await insecure.http().post(BASE).set(bearer(insecure.token('partner', 'p-ftp'))).send(createBody({ base_url: 'ftp://x.example.com' }));
      expect(ftp.body.error).toEqual(['base_url: must use http or https']);
    } finally {
      await insecure.close();
    }
  });

  test('PATCH /me with nothing to change → 400', async () => {
    await createAs('p-validate');
    const res = await h.http().patch(`${BASE}/me`).set(partner()).send({});
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error).toEqual(['body: must contain at least one of base_url, auth_type, auth_key, handles_ticket_delivery, webhook_auth, availability_pull, supplier_budget, currencies, locales, alerts_url']);
  });

  test('non-JSON bodies → 415; a body-less POST to a JSON endpoint → 400', async () => {
    const text = await h.http().post(BASE).set(partner()).set('Content-Type', 'text/plain').send('base_url=x');
    expectError(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
    check('post', BASE, 415, text.body);
    const form = await h.http().post(BASE).set(partner()).type('form').send({ base_url: 'x' });
    expectError(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const none = await h.http().post(BASE).set(partner());
    expectError(none, 400, 'VALIDATION_FAILED');
    expect(none.body.error).toEqual(['body: must be a JSON object']);
  });

  test('bodies past 64 KiB → 413 (declared or chunked)', async () => {
    const big = createBody({ auth_key: 'x'.repeat(70 * 1024) });
    const res = await h.http().post(BASE).set(partner()).send(big);
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    check('post', BASE, 413, res.body);
    // Body-less endpoints refuse a declared oversized body too, from a caller they would serve.
    const integration = await createAs('p-oversized');
    const trigger = await h
      .http()
      .post(`${BASE}/${integration._id}/sync/trigger`)
      .set('x-webhook-secret', integration.webhook_secret)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ pad: 'x'.repeat(70 * 1024) }));
    expectError(trigger, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('no input of any shape gives a 500', async () => {
    const bodies: Array<string> = [
      '{',
      'null',
      '[]',
      '"string"',
      '42',
      'true',
      '{"__proto__": {"isApproved": true}}',
      '{"constructor": {"prototype": {}}}',
      JSON.stringify({ base_url: { toString: 1 }, auth_type: ['bearer'], auth_key: { a: 1 }, handles_ticket_delivery: null }),
      JSON.stringify(createBody({ base_url: 'https://' + 'a'.repeat(3000) + '.com' })),
      JSON.stringify(createBody({ base_url: 'https://[::1' })),
      JSON.stringify(createBody({ base_url: 'https://exa mple.com' })),
      '['.repeat(5000) + ']'.repeat(5000),
      '{"a":' + '{"a":'.repeat(2000) + '1' + '}'.repeat(2001),
      '\u0000\u0001',
      '{"base_url": "\ud800"}',
    ];
    for (const body of bodies) {
      for (const [method, url] of [
        ['post', BASE],
        ['patch', `${BASE}/me`],
        ['post', `${BASE}/admin/create`],
      ] as const) {
        const token = url.includes('admin') ? h.token('admin', 'a') : h.token('partner', 'p-fuzz');
        const res = await h.http()[method](url).set(bearer(token)).set('Content-Type', 'application/json').send(body);
        // Every one of them is malformed or invalid: a 400 naming what is wrong, never another status.
        expect({ body, url, status: res.status, reason: res.body.reason }).toEqual({ body, url, status: 400, reason: 'VALIDATION_FAILED' });
        expectError(res, 400, 'VALIDATION_FAILED');
      }
    }
    const weirdQueries = ['?page=1&page=2', '?pageSize[]=1', '?page=%00', '?isApproved[a]=b', '?page=1e400', '?page=-1'];
    for (const q of weirdQueries) {
      const res = await h.http().get(`${BASE}/admin${q}`).set(bearer(h.token('admin', 'a')));
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
    }
    // A path that cannot be decoded is a 400; any other id names no integration: 404.
    const weirdIds: Array<[string, number, string]> = [
      ['%E0%A4%A', 400, 'VALIDATION_FAILED'],
      ['x'.repeat(5000), 404, 'NOT_FOUND'],
      ['..%2F..%2Fetc', 404, 'NOT_FOUND'],
      ['00000000-0000-0000-0000-000000000000', 404, 'NOT_FOUND'],
    ];
    for (const [id, status, reason] of weirdIds) {
      const res = await h.http().get(`${BASE}/${id}`).set(bearer(h.token('admin', 'a')));
      expect({ id, status: res.status }).toEqual({ id, status });
      expectError(res, status, reason);
    }
  });

  test('unknown paths answer the error envelope with 404', async () => {
    const res = await h.http().get('/api/v1/nope');
    expectError(res, 404, 'NOT_FOUND');
  });
});

describe('operations', () => {
  test('healthz and readyz answer 200 with Postgres and Redis up', async () => {
    expectDocumented(await h.http().get('/healthz'), 'get', '/healthz', 200);
    const ready = await h.http().get('/readyz');
    expectDocumented(ready, 'get', '/readyz', 200);
    expect(ready.body).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' }, workers: 0 });
  });

  test('metrics count requests by route template and status', async () => {
    await h.http().get(`${BASE}/me`).set(bearer(h.token('partner', 'p-metrics')));
    const res = await h.http().get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/gateway_http_requests_total\{method="GET",route="\/api\/v1\/partner-integrations\/me",status="404"\} \d+/);
    expect(res.text).toContain('gateway_http_request_duration_seconds_bucket');
    expect(res.text).not.toMatch(/route="\/api\/v1\/partner-integrations\/[0-9a-f-]{36}/);
  });

  test('the OpenAPI document covers exactly the routes the app registered', async () => {
    const res = await h.http().get('/api/v1/openapi.json');
    expectDocumented(res, 'get', '/api/v1/openapi.json', 200);
    const document = res.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toBe('3.1.0');
    const documented = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
    // What Express will actually route, read from the router itself.
    type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
    const registered: string[] = [];
    const walk = (stack: Layer[]) => {
      for (const layer of stack) {
        if (layer.route) for (const m of Object.keys(layer.route.methods)) registered.push(`${m.toUpperCase()} ${layer.route.path}`);
        else if (layer.handle?.stack) walk(layer.handle.stack);
      }
    };
    walk((h.app as unknown as { router: { stack: Layer[] } }).router.stack);
    expect(registered.length).toBeGreaterThanOrEqual(19);
    // A mounted spec (the queue dashboard's Bull Board, the streamed change export) is a `use` layer, not a route layer: documented all the same.
    const mounted = h.app.locals.routes.filter((route) => route.mount !== undefined).map((route) => `${route.method.toUpperCase()} ${route.path}`);
    expect(mounted.sort()).toEqual(['GET /api/v1/changes/export', 'GET /api/v1/partner-integrations/admin/queues/ui']);
    expect(documented).toEqual(expect.arrayContaining(mounted));
    // The pages (docs/partner-api.md, "The portal and the console") are no API routes of their own: their /api serves documented routes only.
    const page = / \/(portal|console)(\/|\{|$)/;
    const pageApi = registered.filter((route) => page.test(route) && / \/(portal|console)\/api\//.test(route)).map((route) => route.replace(/ \/(portal|console)\/api\//, ' /'));
    expect(pageApi.length).toBeGreaterThan(20);
    expect(documented).toEqual(expect.arrayContaining(pageApi));
    // A route that reads the Authorization header itself (bearerOnly) has no session to read it from.
    const bearerOnly = h.app.locals.routes.filter((route) => route.bearerOnly).map((route) => `${route.method.toUpperCase()} ${route.path}`);
    expect(bearerOnly).toContain('POST /api/v1/partner-integrations/admin/session');
    expect(pageApi.filter((route) => bearerOnly.includes(route))).toEqual([]);
    expect(documented.filter((route) => !mounted.includes(route)).sort()).toEqual(registered.filter((route) => !page.test(route)).sort());
  });
});

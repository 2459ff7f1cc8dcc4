import type { Redis } from 'ioredis';
import { catalogSyncJob, createRedis, startConsumer, type PayloadOf } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { TEST_REDIS_URL } from '@octo-sync/testkit';
import { BASE, createBody, startGateway, useGateway, type GatewayHarness } from './harness';

// A generous bound: the runs that must answer 200 do so as soon as they finish, however busy the machine.
const { h, check, admin } = useGateway({ SYNC_TRIGGER_WAIT_MS: '45000', WEBHOOK_RATE_LIMIT: '1000' });

const TRIGGER = `${BASE}/{id}/sync/trigger`;
const trigger = (id: string) => `${BASE}/${id}/sync/trigger`;

/**
 * Created unapproved and approved through the store, so that no first sync is queued (an approved
 * admin/create queues one): these tests count and inspect the runs their triggers make.
 */
async function integration(partner: string, options: { isApproved?: boolean } = {}) {
  const res = await h.http().post(`${BASE}/admin/create`).set(admin()).send({ partner_id: partner, ...createBody(), isApproved: false });
  expect(res.status).toBe(201);
  const created = res.body.data as { _id: string; webhook_secret: string };
  if (options.isApproved ?? true) await h.db.integrations.setApproved(created._id, true);
  return created;
}

describe('POST /{id}/sync/trigger: webhook authentication', () => {
  test('wrong, missing, wrongly-sized secret, unknown id, malformed id, deleted and inactive all answer the same 401', async () => {
    const live = await integration('p-401-live');
    const deleted = await integration('p-401-deleted');
    const inactive = await integration('p-401-inactive');
    await h.db.integrations.softDelete(deleted._id);
    await h.db.integrations.setActive(inactive._id, false);

    const attempts = [
      h.http().post(trigger(live._id)).set('x-webhook-secret', 'a'.repeat(64)),
      h.http().post(trigger(live._id)),
      h.http().post(trigger(live._id)).set('x-webhook-secret', live.webhook_secret.slice(0, 63)),
      h.http().post(trigger(live._id)).set('x-webhook-secret', `${live.webhook_secret}0`),
      h.http().post(trigger(live._id)).set('x-webhook-secret', live.webhook_secret.toUpperCase()),
      h.http().post(trigger('00000000-0000-4000-8000-000000000000')).set('x-webhook-secret', live.webhook_secret),
      h.http().post(trigger('not-a-uuid')).set('x-webhook-secret', live.webhook_secret),
      h.http().post(trigger(deleted._id)).set('x-webhook-secret', deleted.webhook_secret),
      h.http().post(trigger(inactive._id)).set('x-webhook-secret', inactive.webhook_secret),
    ];
    const bodies = [];
    for (const attempt of attempts) {
      const res = await attempt;
      expect(res.status).toBe(401);
      check('post', TRIGGER, 401, res.body);
      bodies.push(res.text);
    }
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toEqual({
      success: 0,
      error: ['x-webhook-secret: missing or invalid'],
      message: 'Unauthorized',
      code: 401,
      reason: 'WEBHOOK_SECRET_INVALID',
    });
    expect(await h.db.prisma.syncRun.count()).toBe(0);
  });

  test('an unapproved integration → 409 INTEGRATION_NOT_APPROVED and no run', async () => {
    const unapproved = await integration('p-409', { isApproved: false });
    const res = await h.http().post(trigger(unapproved._id)).set('x-webhook-secret', unapproved.webhook_secret);
    expect(res.status).toBe(409);
    expect(res.body.reason).toBe('INTEGRATION_NOT_APPROVED');
    check('post', TRIGGER, 409, res.body);
    expect(await h.db.runs.listRuns(unapproved._id, 5)).toEqual([]);
  });
});

describe('POST /{id}/sync/trigger: queueing', () => {
  test('Prefer: respond-async → 202 at once with run_id and Location; the run and its job exist; a second trigger joins the queued run', async () => {
    const it = await integration('p-202');
    const res = await h.http().post(trigger(it._id)).set({ 'x-webhook-secret': it.webhook_secret, Prefer: 'respond-async' });
    expect(res.status).toBe(202);
    check('post', TRIGGER, 202, res.body);
    expect(res.headers.location).toBe(`${BASE}/${it._id}/sync-log`);
    expect(res.body).toEqual({ success: 1, data: { queued: true, run_id: expect.any(String) } });
    const runId = res.body.data.run_id as string;
    expect(await h.db.runs.findRun(runId)).toMatchObject({ trigger: 'webhook', status: 'queued', integrationId: it._id });
    const job = await h.producer.queue('catalog').getJob(`sync-${runId}`);
    // The job carries the request id of the request that created the run (its worker logs it).
    expect(job?.data).toEqual({ integrationId: it._id, runId, requestId: res.headers['x-request-id'] });

    // No body, no Content-Type, and a JSON body are all fine on this route.
    const again = await h.http().post(trigger(it._id)).set({ 'x-webhook-secret': it.webhook_secret, Prefer: 'wait=1, respond-async' }).send({ any: 'thing' });
    expect(again.status).toBe(202);
    expect(again.body.data.run_id).toBe(runId);
  });

  test('the rate limit answers 429 with Retry-After once an integration exceeds it', async () => {
    const limited = await startGateway({ WEBHOOK_RATE_LIMIT: '3' });
    try {
      const res = await limited.http().post(`${BASE}/admin/create`).set({ Authorization: `Bearer ${limited.token('admin', 'a')}` }).send({ partner_id: 'p-429', ...createBody() });
      const it = res.body.data as { _id: string; webhook_secret: string };
      const other = (await limited.http().post(`${BASE}/admin/create`).set({ Authorization: `Bearer ${limited.token('admin', 'a')}` }).send({ partner_id: 'p-429b', ...createBody() })).body.data as { _id: string; webhook_secret: string };
      const send = (target: { _id: string; webhook_secret: string }) =>
        limited.http().post(trigger(target._id)).set({ 'x-webhook-secret': target.webhook_secret, Prefer: 'respond-async' });
      for (let i = 0; i < 3; i++) expect((await send(it)).status).toBe(202);
      const refused = await send(it);
      expect(refused.status).toBe(429);
      expect(refused.body.reason).toBe('RATE_LIMITED');
      check('post', TRIGGER, 429, refused.body);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      // Per integration: another one is not affected.
      expect((await send(other)).status).toBe(202);
    } finally {
      await limited.close();
    }
  });
});

describe('POST /{id}/sync/trigger: webhook-auth cache (WEBHOOK_AUTH_CACHE_MS)', () => {
  const send = (app: GatewayHarness, it: { _id: string; webhook_secret: string }) =>
    app.http().post(trigger(it._id)).set({ 'x-webhook-secret': it.webhook_secret, Prefer: 'respond-async' });

  test('changes made through the gateway apply to the next webhook at once, even with a long TTL', async () => {
    const cached = await startGateway({ WEBHOOK_AUTH_CACHE_MS: '300000', WEBHOOK_RATE_LIMIT: '1000' }, h);
    const adminOf = () => ({ Authorization: `Bearer ${cached.token('admin', 'admin-1')}` });
    try {
      const it = (await cached.http().post(`${BASE}/admin/create`).set(adminOf()).send({ partner_id: 'p-cache-inval', ...createBody() })).body.data as { _id: string; webhook_secret: string };
      expect((await send(cached, it)).status).toBe(202); // now cached
      expect((await cached.http().post(`${BASE}/admin/${it._id}/revoke`).set(adminOf())).status).toBe(200);
      expect((await send(cached, it)).status).toBe(409);
      expect((await cached.http().post(`${BASE}/admin/${it._id}/approve`).set(adminOf())).status).toBe(200);
      expect((await send(cached, it)).status).toBe(202);
      expect((await cached.http().patch(`${BASE}/admin/${it._id}`).set(adminOf()).send({ isActive: false })).status).toBe(200);
      expect((await send(cached, it)).status).toBe(401);
      expect((await cached.http().patch(`${BASE}/admin/${it._id}`).set(adminOf()).send({ isActive: true })).status).toBe(200);
      expect((await send(cached, it)).status).toBe(202);
      const partner = { Authorization: `Bearer ${cached.token('partner', 'p-cache-inval')}` };
      expect((await cached.http().patch(`${BASE}/me`).set(partner).send({ base_url: 'https://moved.example.com' })).status).toBe(200);
      expect((await send(cached, it)).status).toBe(409); // a new base_url withdrew the approval
      expect((await cached.http().delete(`${BASE}/me`).set(partner)).status).toBe(200);
      expect((await send(cached, it)).status).toBe(401);
    } finally {
      await cached.close();
    }
  });

  test('a change made behind the gateway’s back (SQL, another replica) is seen only after the TTL; with 0 at once', async () => {
    const cached = await startGateway({ WEBHOOK_AUTH_CACHE_MS: '300000', WEBHOOK_RATE_LIMIT: '1000' }, h);
    const uncached = await startGateway({ WEBHOOK_AUTH_CACHE_MS: '0', WEBHOOK_RATE_LIMIT: '1000' }, h);
    try {
      const it = await integration('p-cache-ttl');
      expect((await send(cached, it)).status).toBe(202);
      await h.db.prisma.integration.update({ where: { id: it._id }, data: { isActive: false } });
      // The documented staleness bound: within WEBHOOK_AUTH_CACHE_MS this replica still accepts it
      // (the TTL bound itself is covered with a fake clock in webhook-auth.test.ts).
      expect((await send(cached, it)).status).toBe(202);
      expect((await send(uncached, it)).status).toBe(401);
    } finally {
      await uncached.close();
      await cached.close();
    }
  });
});

describe('POST /{id}/sync/trigger: concurrent triggers', () => {
  test('a burst for one integration is coalesced: one queued run, every caller gets its run_id', async () => {
    const it = await integration('p-burst');
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => h.http().post(trigger(it._id)).set({ 'x-webhook-secret': it.webhook_secret, Prefer: 'respond-async' })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(202));
    const runs = await h.db.runs.listRuns(it._id, 10);
    expect(runs).toHaveLength(1);
    expect(new Set(answers.map((a) => a.body.data.run_id))).toEqual(new Set([runs[0]!.id]));
    expect(await h.producer.queue('catalog').getJob(`sync-${runs[0]!.id}`)).toBeDefined();
  });

  test('a forced admin request joining a webhook burst is not lost: the run is recorded forced', async () => {
    const it = await integration('p-burst-force');
    const webhook = () => h.http().post(trigger(it._id)).set({ 'x-webhook-secret': it.webhook_secret, Prefer: 'respond-async' });
    const answers = await Promise.all([webhook(), webhook(), h.http().post(`${BASE}/admin/${it._id}/sync?force=true`).set(admin()).set('Prefer', 'respond-async'), webhook()]);
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202]);
    const runs = await h.db.runs.listRuns(it._id, 10);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ force: true, status: 'queued' });
  });

  test('concurrent calls past the rate limit: exactly the limit is let through, the rest get 429', async () => {
    const limited = await startGateway({ WEBHOOK_RATE_LIMIT: '5' }, h);
    try {
      const it = await integration('p-burst-429');
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => limited.http().post(trigger(it._id)).set({ 'x-webhook-secret': it.webhook_secret, Prefer: 'respond-async' })),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([...Array(5).fill(202), ...Array(7).fill(429)]);
    } finally {
      await limited.close();
    }
  });
});

describe('POST /{id}/sync/trigger: the gateway’s waiting logic (a test consumer plays the worker)', () => {
  let worker: ReturnType<typeof startConsumer> | undefined;
  let connection: Redis | undefined;
  /** What the fake worker does with each run, keyed by integration id. */
  const outcomes = new Map<string, 'succeeded' | 'skipped' | 'failed'>();
  /** Runs the fake worker holds until the test releases them, keyed by integration id. */
  const holds = new Map<string, { started: () => void; released: Promise<void> }>();
  /** Holds the runs of `integrationId` in the fake worker until `release()`. */
  function holdRuns(integrationId: string) {
    let started!: () => void;
    let release!: () => void;
    const hasStarted = new Promise<void>((resolve) => (started = resolve));
    holds.set(integrationId, { started, released: new Promise<void>((resolve) => (release = resolve)) });
    return { hasStarted, release };
  }

  beforeAll(async () => {
    connection = createRedis(TEST_REDIS_URL, 'worker');
    worker = startConsumer<'catalog'>(
      'catalog',
      {
        'catalog.sync': async ({ integrationId, runId }: PayloadOf<typeof catalogSyncJob>) => {
          const outcome = outcomes.get(integrationId) ?? 'succeeded';
          const hold = holds.get(integrationId);
          if (hold) {
            hold.started();
            await hold.released;
          }
          const now = new Date();
          await h.db.prisma.syncRun.update({
            where: { id: runId },
            data:
              outcome === 'failed'
                ? { status: 'failed', startedAt: now, finishedAt: now, errorCode: 'SUPPLIER_AUTH_REJECTED', errorMessage: 'supplier answered 401 Unauthorized: check the auth_key and auth_type' }
                : { status: outcome, startedAt: now, finishedAt: now, synced: outcome === 'succeeded' ? 42 : 0 },
          });
          return { runId };
        },
      },
      { connection, prefix: h.prefix, log: createLogger({ level: 'silent', name: 'fake-worker' }), concurrency: 4, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    );
    await worker.waitUntilReady();
  });
  afterAll(async () => {
    await worker?.close();
    await connection?.quit();
  });

  test('a run that finishes within the bound → 200 {synced, skipped: false, run_id}', async () => {
    const it = await integration('p-wait-ok');
    const res = await h.http().post(trigger(it._id)).set('x-webhook-secret', it.webhook_secret);
    expect(res.status).toBe(200);
    check('post', TRIGGER, 200, res.body);
    expect(res.body).toEqual({ success: 1, data: { synced: 42, skipped: false, run_id: expect.any(String) } });
  });

  test('a trigger that joins a nightly run scheduled for later starts it now', async () => {
    const it = await integration('p-wait-nightly');
    const { runId } = await h.db.runs.requestRun(it._id, 'schedule');
    const delayed = await h.producer.enqueue(catalogSyncJob, { integrationId: it._id, runId }, { delay: 10 * 60_000 });
    expect(await delayed.isDelayed()).toBe(true);
    const res = await h.http().post(trigger(it._id)).set('x-webhook-secret', it.webhook_secret);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ synced: 42, skipped: false, run_id: runId });
  });

  test('a skipped run → 200 {synced: 0, skipped: true}', async () => {
    const it = await integration('p-wait-skip');
    outcomes.set(it._id, 'skipped');
    const res = await h.http().post(trigger(it._id)).set('x-webhook-secret', it.webhook_secret);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ synced: 0, skipped: true, run_id: expect.any(String) });
  });

  test('a failed run → 200 with error (the call succeeded, the supplier did not)', async () => {
    const it = await integration('p-wait-fail');
    outcomes.set(it._id, 'failed');
    const res = await h.http().post(trigger(it._id)).set('x-webhook-secret', it.webhook_secret);
    expect(res.status).toBe(200);
    check('post', TRIGGER, 200, res.body);
    expect(res.body.data).toEqual({ synced: 0, skipped: false, run_id: expect.any(String), error: 'supplier answered 401 Unauthorized: check the auth_key and auth_type' });
  });

  test('a run still going at the bound → 202 with Location', async () => {
    const it = await integration('p-wait-slow');
    const short = await startGateway({ SYNC_TRIGGER_WAIT_MS: '300' }, h);
    const held = holdRuns(it._id);
    try {
      const res = await short.http().post(trigger(it._id)).set('x-webhook-secret', it.webhook_secret);
      expect(res.status).toBe(202);
      expect(res.headers.location).toBe(`${BASE}/${it._id}/sync-log`);
      expect(res.body.data).toEqual({ queued: true, run_id: expect.any(String) });
      const job = await h.producer.queue('catalog').getJob(`sync-${res.body.data.run_id as string}`);
      expect(await job?.isCompleted()).toBe(false);
    } finally {
      held.release();
      await short.close();
    }
  });

  test('the gateway waits for a run in progress: released after it started, the run answers 200', async () => {
    const it = await integration('p-wait-held');
    const held = holdRuns(it._id);
    // then() sends the request now; the answer is awaited once the run is known to have started.
    const answer = h.http().post(trigger(it._id)).set('x-webhook-secret', it.webhook_secret).then((res) => res);
    await held.hasStarted;
    held.release();
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ synced: 42, skipped: false, run_id: expect.any(String) });
  });

  test('the admin sync route shares the flow: 200 with the run’s answer', async () => {
    const it = await integration('p-wait-admin');
    const res = await h.http().post(`${BASE}/admin/${it._id}/sync`).set(admin());
    expect(res.status).toBe(200);
    check('post', `${BASE}/admin/{id}/sync`, 200, res.body);
    expect(res.body.data).toEqual({ synced: 42, skipped: false, run_id: expect.any(String) });
    expect((await h.db.runs.findRun(res.body.data.run_id))?.trigger).toBe('admin');
  });
});

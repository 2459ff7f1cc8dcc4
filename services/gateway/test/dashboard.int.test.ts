import { once } from 'node:events';
import type { Worker } from 'bullmq';
import { QUEUES, startConsumer, testConnectionJob } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { waitFor } from '@octo-sync/testkit';
import { ADMIN_SUB, BASE, createBody, useGateway } from './harness';

const UI = `${BASE}/admin/queues/ui`;
const COOKIE = 'octo_sync_dashboard';

/**
 * The queue dashboard: admins only (bearer or the session cookie), the cookie good for the
 * dashboard alone, cookie actions only from our own origin, and job actions in the audit trail.
 */
describe('queue dashboard (Bull Board) and its session', () => {
  const { h, check, admin } = useGateway();
  let failing: Worker;
  let integrationId: string;
  let failedJobId: string;

  beforeAll(async () => {
    if (h.redis.status !== 'ready') await once(h.redis, 'ready');
    const created = await h.http().post(`${BASE}/admin/create`).set(admin()).send({ partner_id: 'p-dash', ...createBody(), isApproved: false });
    integrationId = created.body.data._id as string;
    // A connection test that fails for good (one attempt): the failed job the dashboard shows.
    failing = startConsumer(
      'probes',
      {
        'integration.test-connection': async () => {
          throw new Error('supplier refused the test on purpose');
        },
      },
      { connection: h.redis, prefix: h.prefix, log: createLogger({ name: 'dash-test', level: 'silent' }), concurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    );
    const job = await h.producer.enqueue(testConnectionJob, { integrationId });
    expect(await h.producer.waitFor(job, 30_000)).toMatchObject({ state: 'failed' });
    failedJobId = job.id!;
    // Retried jobs must stay failed for the assertions below: no consumer from here on.
    await failing.close();
  });

  async function sessionCookie(): Promise<string> {
    const res = await h.http().post(`${BASE}/admin/session`).set(admin());
    expect(res.status).toBe(200);
    check('post', `${BASE}/admin/session`, 200, res.body);
    const header = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0] ?? '';
    expect(header).toMatch(new RegExp(`^${COOKIE}=[^;]+; Path=${UI}; Max-Age=(3[0-5]\\d\\d|3600); HttpOnly; SameSite=Strict$`));
    return header.split(';')[0]!;
  }

  test('no credential: 401 and no queue data, for the page, its JSON API and its assets', async () => {
    for (const path of [UI, `${UI}/`, `${UI}/api/queues`, `${UI}/api/queues/probes/${failedJobId}`, `${UI}/static/favicon.ico`]) {
      const res = await h.http().get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
      expect(res.text).not.toContain('supplier refused');
    }
    const partner = await h.http().get(`${UI}/api/queues`).set('Authorization', `Bearer ${h.token('partner', 'p-dash')}`);
    expect(partner.status).toBe(403);
  });

  test('an admin bearer sees the queues and the failed job with its reason', async () => {
    const page = await h.http().get(`${UI}/`).set(admin());
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html');
    const api = await h.http().get(`${UI}/api/queues?activeQueue=probes&status=failed`).set(admin());
    expect(api.status).toBe(200);
    const queues = api.body.queues as Array<{ name: string; jobs: Array<{ id: string; failedReason: string }> }>;
    expect(queues.map((q) => q.name).sort()).toEqual(Object.keys(QUEUES).sort());
    expect(queues.find((q) => q.name === 'probes')?.jobs).toEqual([expect.objectContaining({ id: failedJobId, failedReason: 'supplier refused the test on purpose' })]);
  });

  test('the cookie opens the dashboard, and nothing else', async () => {
    const cookie = await sessionCookie();
    expect((await h.http().get(`${UI}/api/queues`).set('Cookie', cookie)).status).toBe(200);
    expect((await h.http().get(`${BASE}/admin/queues`).set('Cookie', cookie)).status).toBe(401);
    expect((await h.http().post(`${BASE}/admin/${integrationId}/approve`).set('Cookie', cookie)).status).toBe(401);
    expect((await h.http().post(`${BASE}/admin/${integrationId}/sync`).set('Cookie', cookie)).status).toBe(401);
    expect((await h.http().post(`${BASE}/admin/${integrationId}/webhook-secret/rotate`).set('Cookie', cookie)).status).toBe(401);
    expect((await h.http().get(`${UI}/api/queues`).set('Cookie', `${COOKIE}=not-a-jwt`)).status).toBe(401);
  });

  test('a job action with the cookie needs our Origin; it is logged and recorded with the admin’s sub', async () => {
    const cookie = await sessionCookie();
    const retry = `${UI}/api/queues/probes/${failedJobId}/retry`;
    expect((await h.http().put(retry).set('Cookie', cookie)).status).toBe(403);
    expect((await h.http().put(retry).set('Cookie', cookie).set('Origin', 'https://evil.example')).status).toBe(403);
    expect(await h.db.events.list(integrationId, 1, 50)).toMatchObject({ items: expect.not.arrayContaining([expect.objectContaining({ type: 'dashboard_job_action' })]) });

    const done = await h.http().put(retry).set('Cookie', cookie).set('Host', 'ops.example').set('Origin', 'http://ops.example');
    expect(done.status).toBe(204);
    // Recorded before the answer: no waiting.
    const events = (await h.db.events.list(integrationId, 1, 50)).items.filter((e) => e.type === 'dashboard_job_action');
    expect(events).toEqual([expect.objectContaining({ actor: ADMIN_SUB, details: { queue: 'probes', job_id: failedJobId, job: 'integration.test-connection', action: 'retry' } })]);
    expect(await h.producer.queue('probes').getJobState(failedJobId)).toBe('waiting');
    expect(h.logLines()).toContainEqual(expect.objectContaining({ msg: 'dashboard action', actor: ADMIN_SUB }));
  });

  test.each([
    ['put', 'obliterate', '/api/queues/probes/obliterate'],
    ['put', 'empty', '/api/queues/probes/empty'],
    ['put', 'clean (remove every job in a state)', '/api/queues/probes/clean/failed'],
    ['put', 'pause', '/api/queues/probes/pause'],
    ['put', 'pause', '/api/queues/pause'],
    ['put', 'resume', '/api/queues/probes/resume'],
    ['post', 'add', '/api/queues/probes/add'],
    ['patch', 'edit', '/api/queues/probes/{job}/update-data'],
    ['patch', 'edit', '/api/queues/probes/{job}/delay'],
    ['put', 'retry every job in a state', '/api/queues/probes/retry/failed'],
    ['post', 'POST /api/metrics/history/purge', '/api/metrics/history/purge'],
  ] as const)('%s %s is refused with 403 naming it, and changes nothing', async (method, action, path) => {
    const probes = h.producer.queue('probes');
    const counts = () => probes.getJobCounts('waiting', 'active', 'failed', 'delayed', 'completed');
    const before = await counts();
    const target = `${UI}${path.replace('{job}', failedJobId)}`;
    const res = await h.http()[method](target).set(admin()).send({ name: 'x', data: {}, delay: 1 });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ reason: 'FORBIDDEN', error: [`action: ${action} is not offered by the queue dashboard (only retry, remove and promote of one job)`] });
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(await probes.isPaused()).toBe(false);
    expect(await probes.getJob(failedJobId)).toBeDefined();
    expect(await counts()).toEqual(before);
  });

  test('promote: a delayed job runs now, recorded; promoting it again is a 409 that records nothing', async () => {
    const job = await h.producer.enqueue(testConnectionJob, { integrationId }, { delay: 3_600_000 });
    const promote = `${UI}/api/queues/probes/${job.id!}/promote`;
    expect((await h.http().put(promote).set(admin())).status).toBe(204);
    expect(await h.producer.queue('probes').getJobState(job.id!)).toBe('waiting');
    const recorded = (await h.db.events.list(integrationId, 1, 50)).items.filter((e) => e.type === 'dashboard_job_action' && (e.details as { job_id?: string }).job_id === job.id);
    expect(recorded).toEqual([expect.objectContaining({ actor: ADMIN_SUB, details: { queue: 'probes', job_id: job.id, job: 'integration.test-connection', action: 'promote' } })]);

    const again = await h.http().put(promote).set(admin());
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ reason: 'JOB_STATE_CONFLICT', error: ['job: only a delayed job can be promoted (it is waiting)'] });
    expect((await h.db.events.list(integrationId, 1, 50)).items.filter((e) => (e.details as { job_id?: string } | null)?.job_id === job.id)).toHaveLength(1);
    await h.producer.queue('probes').remove(job.id!);
  });

  test('an action whose record cannot be written is not performed', async () => {
    const created = await h.http().post(`${BASE}/admin/create`).set(admin()).send({ partner_id: 'p-dash-gone', ...createBody(), isApproved: false });
    const goneId = created.body.data._id as string;
    const job = await h.producer.enqueue(testConnectionJob, { integrationId: goneId });
    // The integration's row (and so its trail) disappears under the dashboard.
    await h.db.pool.query('DELETE FROM integrations WHERE id = $1', [goneId]);
    const res = await h.http().put(`${UI}/api/queues/probes/${job.id!}/clean`).set(admin());
    expect(res.status).toBe(500);
    expect(res.body.error).toEqual(["audit: the remove could not be recorded in the integration's events, so it was not performed"]);
    expect(await h.producer.queue('probes').getJobState(job.id!)).toBe('waiting');
    expect(h.logLines()).toContainEqual(expect.objectContaining({ msg: 'dashboard action not recorded, so not performed', action: 'remove' }));
    await h.producer.queue('probes').remove(job.id!);
  });

  test('removing a job a live worker holds is a 409, not a 500; the entry recorded first stands for an action not performed', async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Holds every job it takes (whatever is waiting in the queue by now) until the test ends.
    const holding = startConsumer(
      'probes',
      { 'integration.test-connection': () => released },
      { connection: h.redis, prefix: h.prefix, log: createLogger({ name: 'dash-test', level: 'silent' }), concurrency: 10, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    );
    try {
      const job = await h.producer.enqueue(testConnectionJob, { integrationId });
      await waitFor('the worker to take the job', async () => (await h.producer.queue('probes').getJobState(job.id!)) === 'active');
      const res = await h.http().put(`${UI}/api/queues/probes/${job.id!}/clean`).set(admin());
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ reason: 'JOB_STATE_CONFLICT', error: ['job: a job being processed cannot be removed (it is active)'] });
      expect(await h.producer.queue('probes').getJobState(job.id!)).toBe('active');
      const recorded = (await h.db.events.list(integrationId, 1, 50)).items.filter((e) => (e.details as { job_id?: string } | null)?.job_id === job.id);
      expect(recorded).toEqual([expect.objectContaining({ actor: ADMIN_SUB, details: { queue: 'probes', job_id: job.id, job: 'integration.test-connection', action: 'remove' } })]);
      expect(h.logLines()).toContainEqual(expect.objectContaining({ msg: 'dashboard action recorded but not performed', action: 'remove', job_id: job.id }));
    } finally {
      release();
      await holding.close();
    }
  });
});

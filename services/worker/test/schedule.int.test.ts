import type { Job } from 'bullmq';
import { catalogNightlyJob, catalogSyncJob, queueOverview, type JobContext } from '@octo-sync/jobs';
import { ConfigError, createLogger } from '@octo-sync/platform';
import { SyncRequests } from '@octo-sync/runs';
import { generateCatalog, waitFor } from '@octo-sync/testkit';
import { loadWorkerConfig } from '../src/config';
import { startWorkerRuntime } from '../src/runtime';
import { createNightlyHandler, type NightlyResult } from '../src/schedules/nightly.handler';
import { HEALTH_SCHEDULER_ID, NIGHTLY_SCHEDULER_ID, PULL_SCHEDULER_ID, registerSchedules, scheduleDefinitions } from '../src/schedules/register-schedules';
import { startHarness, type Harness } from './harness';

const log = createLogger({ name: 'schedule-test', level: 'silent' });

describe('schedule configuration', () => {
  it('has the documented defaults', () => {
    expect(loadWorkerConfig({})).toMatchObject({
      schedules: { enabled: true, nightlyCron: '0 3 * * *', nightlyTz: 'UTC', nightlySpreadMs: 600_000, healthCron: '*/5 * * * *', healthTz: 'UTC' },
      health: { downAfter: 3, probeTimeoutMs: 10_000 },
    });
  });

  it('accepts six-field patterns with seconds and real time zones', () => {
    expect(loadWorkerConfig({ NIGHTLY_SYNC_CRON: '*/2 * * * * *', NIGHTLY_SYNC_TZ: 'Europe/Lisbon', HEALTH_PROBE_CRON: '0 */10 * * * *' })).toMatchObject({
      schedules: { nightlyCron: '*/2 * * * * *', nightlyTz: 'Europe/Lisbon', healthCron: '0 */10 * * * *' },
    });
  });

  it('stops start-up naming every bad variable, without echoing values', () => {
    let error: unknown;
    try {
      loadWorkerConfig({ NIGHTLY_SYNC_CRON: '61 3 * * *', HEALTH_PROBE_CRON: 'every five minutes', NIGHTLY_SYNC_TZ: 'Mars/Olympus', HEALTH_DOWN_AFTER: '0', NIGHTLY_SYNC_SPREAD_MS: '-1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['NIGHTLY_SYNC_CRON', 'HEALTH_PROBE_CRON', 'NIGHTLY_SYNC_TZ', 'HEALTH_DOWN_AFTER', 'NIGHTLY_SYNC_SPREAD_MS']) expect(message).toContain(name);
    expect(message).not.toContain('Mars/Olympus');
    expect(message).not.toContain('every five minutes');
    expect(() => loadWorkerConfig({ NIGHTLY_SYNC_CRON: '* * * * * * *' })).toThrow(/NIGHTLY_SYNC_CRON/);
  });
});

describe('nightly sync and job schedulers', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ NIGHTLY_SYNC_SPREAD_MS: '0', AVAILABILITY_PULL_CRON: '0 4 1 1 *' });
    h.supplier.setCatalog(generateCatalog({ products: 3, options: 1, units: 1, seed: 4 }));
  });
  afterAll(() => h.close());

  /** Runs the fan-out handler as a worker would for a job of this tick (the same job on a retry). */
  function runFanout(tick: number, spreadMs = 0): Promise<NightlyResult> {
    const handler = createNightlyHandler({ db: h.db, requests: new SyncRequests(h.db, h.producer), spreadMs });
    const job = { id: `repeat:${NIGHTLY_SCHEDULER_ID}:${tick}`, timestamp: tick } as Job;
    return handler({}, { job, token: undefined, signal: undefined, log } satisfies JobContext);
  }
  const scheduleRuns = (integrationId: string) => h.db.prisma.syncRun.findMany({ where: { integrationId, trigger: 'schedule' } });
  const allFinished = async (ids: string[]) =>
    (await h.db.prisma.syncRun.count({ where: { integrationId: { in: ids }, status: { in: ['queued', 'running'] } } })) === 0;

  // The integrations every test below sees: three to sync, four the fan-out skips.
  let eligible: string[] = [];
  let skipped: string[] = [];
  beforeAll(async () => {
    const a = await h.createIntegration();
    const b = await h.createIntegration();
    const degraded = await h.createIntegration();
    await h.db.prisma.integration.update({ where: { id: degraded }, data: { healthStatus: 'DEGRADED', consecutiveFailures: 1 } });
    const unapproved = await h.createIntegration({ isApproved: false });
    const inactive = await h.createIntegration();
    await h.db.integrations.setActive(inactive, false);
    const deleted = await h.createIntegration();
    await h.db.integrations.softDelete(deleted);
    const down = await h.createIntegration();
    await h.db.prisma.integration.update({ where: { id: down }, data: { healthStatus: 'DOWN', consecutiveFailures: 3, downSince: new Date() } });
    eligible = [a, b, degraded];
    skipped = [unapproved, inactive, deleted, down];
  });

  it('syncs approved, active, live integrations that are not DOWN, once per fan-out', async () => {
    // Through the queue, as a scheduler tick would deliver it.
    const job = await h.producer.enqueue(catalogNightlyJob, {});
    const outcome = await h.producer.waitFor<NightlyResult>(job, 15_000);
    expect(outcome).toMatchObject({ state: 'completed', value: { eligible: 3, requested: 3, covered: 0 } });
    await waitFor('the scheduled runs to finish', () => allFinished(eligible));
    for (const id of eligible) expect(await scheduleRuns(id)).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    for (const id of skipped) expect(await h.db.prisma.syncRun.count({ where: { integrationId: id } })).toBe(0);
  });

  it('requests nothing twice when the fan-out of a tick is retried', async () => {
    const runsBefore = await Promise.all(eligible.map(async (id) => (await scheduleRuns(id)).length));
    const runsNow = () => Promise.all(eligible.map(async (id) => (await scheduleRuns(id)).length));
    const tick = Date.now();
    const first = await runFanout(tick);
    expect(first).toMatchObject({ eligible: 3, requested: 3, covered: 0 });
    const retry = await runFanout(tick);
    expect(retry).toMatchObject({ eligible: 3, requested: 0, covered: 3 });
    await waitFor('the scheduled runs to finish', () => allFinished(eligible));
    expect(await runsNow()).toEqual(runsBefore.map((n) => n + 1));
    // A later tick is a new night.
    expect(await runFanout(Date.now() + 1)).toMatchObject({ requested: 3, covered: 0 });
    await waitFor('the scheduled runs to finish', () => allFinished(eligible));
    expect(await runsNow()).toEqual(runsBefore.map((n) => n + 2));
  });

  it('re-enqueues a run an interrupted fan-out created but never enqueued', async () => {
    const tick = Date.now();
    const [id] = eligible;
    const { runId } = await h.db.runs.requestRun(id!, 'schedule');
    const retry = await runFanout(tick);
    expect(retry).toMatchObject({ covered: 1, requested: 2 });
    await waitFor('the orphaned run to be synced', async () => ['succeeded', 'skipped'].includes((await h.db.runs.findRun(runId))?.status ?? ''));
    await waitFor('the scheduled runs to finish', () => allFinished(eligible));
  });

  it('spreads one tick over the window, deterministically by position', async () => {
    const spreadMs = 60_000;
    const result = await runFanout(Date.now(), spreadMs);
    expect(result.requested).toBe(3);
    const queued = await h.db.prisma.syncRun.findMany({
      where: { integrationId: { in: eligible }, trigger: 'schedule', status: { in: ['queued', 'running', 'succeeded', 'skipped'] } },
      orderBy: { queuedAt: 'desc' },
      take: 3,
    });
    const delays = new Map<string, number>();
    for (const run of queued) {
      const job = await h.producer.queue('catalog').getJob(catalogSyncJob.jobId!({ integrationId: run.integrationId, runId: run.id }));
      delays.set(run.integrationId, job?.opts.delay ?? 0);
    }
    const expected = [...eligible].sort().map((id, index) => [id, Math.floor((index * spreadMs) / 3)]);
    expect([...delays.entries()].sort()).toEqual(expected.sort());
    // The delayed ones are left queued; nothing else in this file runs after this test.
  });

  it('registers each scheduler once, however many workers upsert it', async () => {
    const queue = h.producer.queue('schedules');
    const definitions = scheduleDefinitions({ nightlyCron: '0 3 * * *', nightlyTz: 'UTC', healthCron: '*/5 * * * *', healthTz: 'UTC', pullCron: h.config.schedules.pullCron });
    const concurrent = await Promise.all([1, 2, 3].map(() => registerSchedules(queue, definitions, log)));
    expect(concurrent.flat().every((o) => o.action === 'upserted' || o.action === 'kept')).toBe(true);
    expect(await registerSchedules(queue, definitions, log)).toEqual([
      { id: NIGHTLY_SCHEDULER_ID, action: 'kept' },
      { id: HEALTH_SCHEDULER_ID, action: 'kept' },
      { id: PULL_SCHEDULER_ID, action: 'kept' },
      { id: 'change-feed-prune', action: 'kept' },
      { id: 'history-prune', action: 'kept' },
      { id: 'availability-partitions', action: 'kept' },
    ]);
    // Two more worker processes starting with schedules on.
    const config = { ...h.config, schedules: { ...h.config.schedules, enabled: true } };
    const more = [await startWorkerRuntime(config, log), await startWorkerRuntime(config, log)];
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => [s.key, s.name, s.pattern, s.tz]).sort()).toEqual([
        [NIGHTLY_SCHEDULER_ID, 'catalog.nightly', '0 3 * * *', 'UTC'],
        [HEALTH_SCHEDULER_ID, 'integration.health-fanout', '*/5 * * * *', 'UTC'],
        [PULL_SCHEDULER_ID, 'availability.pull-tick', h.config.schedules.pullCron, 'UTC'],
        ['change-feed-prune', 'changes.prune', '*/15 * * * *', 'UTC'],
        ['history-prune', 'history.prune', '7 * * * *', 'UTC'],
        ['availability-partitions', 'availability.partitions', '23 * * * *', 'UTC'],
      ].sort());
      const delayed = await queue.getDelayed();
      expect(delayed.map((j) => j.name).sort()).toEqual(['availability.partitions', 'availability.pull-tick', 'catalog.nightly', 'changes.prune', 'history.prune', 'integration.health-fanout']);
      const nightly = schedulers.find((s) => s.key === NIGHTLY_SCHEDULER_ID)!;
      expect(new Date(nightly.next!).toISOString()).toMatch(/T03:00:00\.000Z$/);

      // A changed schedule replaces the old one (and its pending job) rather than adding one.
      const changed = scheduleDefinitions({ nightlyCron: '30 2 * * *', nightlyTz: 'UTC', healthCron: '*/5 * * * *', healthTz: 'UTC', pullCron: h.config.schedules.pullCron });
      expect((await registerSchedules(queue, changed, log))[0]).toEqual({ id: NIGHTLY_SCHEDULER_ID, action: 'upserted' });
      expect(await queue.getJobSchedulersCount()).toBe(6);
      expect((await queue.getJobScheduler(NIGHTLY_SCHEDULER_ID))?.pattern).toBe('30 2 * * *');
      const after = await queue.getDelayed();
      expect(after.filter((j) => j.name === 'catalog.nightly')).toHaveLength(1);
    } finally {
      await Promise.all(more.map((r) => r.close()));
    }
  });

  it('shows queue state: counts by state and the last failed jobs with their reason', async () => {
    const bogus = '00000000-0000-4000-8000-000000000000';
    const job = await h.producer.enqueue(catalogSyncJob, { integrationId: bogus, runId: bogus });
    expect(await h.producer.waitFor(job, 30_000)).toMatchObject({ state: 'failed' });
    const overview = await queueOverview(h.producer, 5);
    expect(overview.map((q) => q.queue)).toEqual(expect.arrayContaining(['catalog', 'probes', 'schedules', 'health']));
    const catalog = overview.find((q) => q.queue === 'catalog')!;
    expect(catalog.counts.failed).toBeGreaterThanOrEqual(1);
    expect(catalog.counts.completed).toBeGreaterThanOrEqual(9);
    expect(catalog.failed[0]).toMatchObject({ id: job.id, name: 'catalog.sync', failedReason: expect.stringContaining('does not exist'), attemptsMade: 1 });
    const schedules = overview.find((q) => q.queue === 'schedules')!;
    expect(schedules.counts.delayed).toBe(6);
  });
});

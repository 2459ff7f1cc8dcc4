import type { Job } from 'bullmq';
import type { SyncRun } from '@octo-sync/db';
import type { JobContext } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { PullRequests } from '@octo-sync/runs';
import { generateCatalog, SlotCalendar, waitFor } from '@octo-sync/testkit';
import { createPullTickHandler } from '../src/availability/pull-tick.handler';
import { pullWindow } from '../src/availability/pull-window';
import { startHarness, type Harness } from './harness';

const MINUTE_MS = 60_000;
const ctx = { job: { id: 'repeat:availability-pull:1' } as Job, token: undefined, signal: undefined, log: createLogger({ name: 'pull-schedule-test', level: 'silent' }) } satisfies JobContext;
/** Tier pulls from the pull schedule, beside refreshes narrowed to a product, option or dates. */
describe('scheduled tier pulls beside refreshes', () => {
  let h: Harness;
  let pulls: PullRequests;
  /** The harness's running worker (tests stop it to keep runs queued, then start another). */
  let worker: Harness['worker'];
  const catalog = generateCatalog({ products: 2, options: 2, units: 1, seed: 24 });
  const start = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start, days: 2, times: ['09:00'], offset: '+00:00' });
  const narrowed = { productId: catalog[0]!.id };

  beforeAll(async () => {
    h = await startHarness();
    h.supplier.setCatalog(catalog);
    h.supplier.setAvailability(calendar);
    pulls = new PullRequests(h.db, h.producer);
    worker = h.worker;
  });
  afterAll(() => h.close());

  async function syncedIntegration() {
    const id = await h.createIntegration();
    await h.sync(id);
    return (await h.db.integrations.findById(id))!;
  }

  async function finished(requested: { runId: string; job: Parameters<Harness['producer']['waitFor']>[0] }): Promise<SyncRun> {
    const outcome = await h.producer.waitFor(requested.job, 60_000);
    if (outcome.state === 'pending') throw new Error(`pull ${requested.runId} did not finish in time`);
    return (await h.db.runs.findRun(requested.runId))!;
  }

  /** The pull tick at `at` (an injected clock), claiming `batch` tiers per statement. */
  const tickAt = (at: Date, batch?: number) => createPullTickHandler({ db: h.db, pulls, abandonAfterMs: h.config.pull.settings.abandonAfterMs, now: () => at, ...(batch === undefined ? {} : { batch }) })({}, ctx);
  const schedule = async (id: string) => (await h.db.pullSchedule.of(id)).map((row) => row.nextDueAt.getTime());

  it('the tick fires each tier once per slot of its interval, over the tier’s own days', async () => {
    const id = await h.createIntegration();
    await h.sync(id);
    await h.db.integrations.update(id, { availabilityPull: { tiers: [{ daysAhead: 1, intervalMinutes: 5 }, { daysAhead: 3, intervalMinutes: 60 }] } });
    // No worker: the tier pulls stay queued (later ones join them) until the end.
    await h.stopWorker(worker);
    const start = Date.now();
    const fired = [[], []] as number[][];
    for (let minute = 0; minute <= 180; minute += 1) {
      const before = await schedule(id);
      await tickAt(new Date(start + minute * MINUTE_MS));
      const after = await schedule(id);
      before.forEach((due, tier) => {
        if (after[tier] !== due) fired[tier]!.push(due);
      });
    }
    // Every claim moved its tier by exactly one interval (a tick a minute never skips a slot), so
    // 180 minutes hold 36 or 37 five-minute slots (one may fall between creation and the first tick) and 3 or 4 hourly ones.
    const gaps = (dues: number[]) => dues.slice(1).map((due, i) => (due - dues[i]!) / MINUTE_MS);
    expect(new Set(gaps(fired[0]!))).toEqual(new Set([5]));
    expect(new Set(gaps(fired[1]!))).toEqual(new Set([60]));
    expect(fired[0]!.length).toBeGreaterThanOrEqual(36);
    expect(fired[0]!.length).toBeLessThanOrEqual(37);
    expect(fired[1]!.length).toBeGreaterThanOrEqual(3);
    expect(fired[1]!.length).toBeLessThanOrEqual(4);

    const runs = (await h.db.runs.listRuns(id, 10)).filter((run) => run.kind === 'availability_pull');
    expect(runs.map((run) => [run.trigger, run.pullScope]).sort()).toEqual([['schedule', '["tier",0]'], ['schedule', '["tier",1]']]);
    worker = await h.startWorker();
    for (const run of runs) {
      const job = (await h.producer.queue('pulls').getJob(`pull-${run.id}`))!;
      expect(job.data).toMatchObject({ days: run.pullScope === '["tier",0]' ? { from: 0, to: 1 } : { from: 2, to: 3 } });
      expect(await finished({ runId: run.id, job })).toMatchObject({ status: 'succeeded', counts: { options: { pulled: 4 } } });
    }
    // Each tier asked for its own days in each product's time zone (the marks keep the windows asked).
    const marks = await h.db.prisma.availabilityPullMark.findMany({ where: { integrationId: id } });
    for (const product of catalog) {
      const zone = (product as { timeZone?: string }).timeZone ?? null;
      const windows = marks.filter((m) => m.productOctoId === product.id).map((m) => ({ from: m.dateFrom, to: m.dateTo }));
      const now = new Date();
      expect(windows).toEqual(expect.arrayContaining([pullWindow(zone, 0, now, { days: { from: 0, to: 1 } }), pullWindow(zone, 0, now, { days: { from: 2, to: 3 } })]));
    }
  });

  it('a refresh, narrowed or whole, never moves a tier’s next pull, which fires when due', async () => {
    const integration = await syncedIntegration();
    const due = await schedule(integration.id);
    expect(due).toHaveLength(3);
    expect(await finished(await pulls.request(integration, 'refresh', narrowed))).toMatchObject({ status: 'succeeded', pullScope: expect.any(String) });
    expect(await finished(await pulls.request(integration, 'refresh'))).toMatchObject({ status: 'succeeded', pullScope: null });
    expect(await schedule(integration.id)).toEqual(due);

    await tickAt(new Date(due[0]!));
    const scheduled = await h.db.prisma.syncRun.findMany({ where: { integrationId: integration.id, trigger: 'schedule', pullScope: '["tier",0]' } });
    expect(scheduled).toHaveLength(1);
    expect((await schedule(integration.id))[0]).toBeGreaterThan(due[0]!);
  });

  it('two ticks at once never request the same tier twice, and a DOWN integration’s tiers wait', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => h.createIntegration()));
    const down = await h.createIntegration();
    await h.db.prisma.integration.update({ where: { id: down }, data: { healthStatus: 'DOWN' } });
    await h.stopWorker(worker);
    const later = new Date(Date.now() + 2 * 86_400_000);
    // Three default tiers each; a batch of two interleaves the ticks' claims.
    // Every due tier of an eligible integration (this test's, and those earlier tests left).
    const tiers = await h.db.prisma.availabilityPullSchedule.count({
      where: { nextDueAt: { lte: later }, integration: { availabilityPullEnabled: true, isApproved: true, isActive: true, deletedAt: null, healthStatus: { not: 'DOWN' } } },
    });
    const [a, b] = await Promise.all([tickAt(later, 2), tickAt(later, 2)]);
    const mine = (await h.db.prisma.syncRun.findMany({ where: { integrationId: { in: [...ids, down] }, kind: 'availability_pull' } })).map((run) => `${run.integrationId} ${run.pullScope}`);
    expect(mine.sort()).toEqual(ids.flatMap((id) => [0, 1, 2].map((tier) => `${id} ["tier",${tier}]`)).sort());
    expect(a.requested + b.requested).toBe(tiers);
    for (const id of ids) for (const next of await schedule(id)) expect(next).toBeGreaterThan(later.getTime());
    for (const next of await schedule(down)) expect(next).toBeLessThanOrEqual(later.getTime());
    worker = await h.startWorker();
  });

  it('a tier whose last pull is still running is not pulled again when its next slot comes', async () => {
    const integration = await syncedIntegration();
    await h.db.integrations.update(integration.id, { availabilityPull: { tiers: [{ daysAhead: 1, intervalMinutes: 5 }] } });
    // Only this integration pulls here (earlier tests' pulls ended, the others' schedules off), so the held call is its own.
    await waitFor('earlier pulls to end', async () => (await h.db.prisma.syncRun.count({ where: { status: { in: ['queued', 'running'] } } })) === 0, { timeoutMs: 120_000 });
    await h.db.prisma.integration.updateMany({ where: { id: { not: integration.id } }, data: { availabilityPullEnabled: false } });
    try {
      const [due] = await schedule(integration.id);
      const held = h.supplier.holdRoute('POST', '/availability');
      expect(await tickAt(new Date(due!))).toEqual({ requested: 1 });
      const where = { integrationId: integration.id, pullScope: '["tier",0]' };
      const running = await waitFor('the tier pull to run', async () => (await h.db.prisma.syncRun.findFirst({ where: { ...where, status: 'running' } })) ?? undefined, { timeoutMs: 60_000 });
      // Its next slot: claimed (moved on), but no second pull queued behind the running one.
      expect(await tickAt(new Date(due! + 5 * MINUTE_MS))).toEqual({ requested: 0 });
      expect((await schedule(integration.id))[0]).toBe(due! + 10 * MINUTE_MS);
      held.release();
      const job = (await h.producer.queue('pulls').getJob(`pull-${running.id}`))!;
      expect(await finished({ runId: running.id, job })).toMatchObject({ status: 'succeeded' });
      expect(await h.db.prisma.syncRun.count({ where })).toBe(1);
      expect(await tickAt(new Date(due! + 10 * MINUTE_MS))).toEqual({ requested: 1 });
    } finally {
      await h.db.prisma.integration.updateMany({ data: { availabilityPullEnabled: true } });
    }
  });

  it('a scheduled pull never joins a narrowed one queued before it, and joins a whole one', async () => {
    const integration = await syncedIntegration();
    // No worker: every run stays queued while the requests arrive.
    await h.stopWorker(worker);
    const refresh = await pulls.request(integration, 'refresh', narrowed);
    const scheduled = await pulls.request(integration, 'schedule');
    expect(scheduled.created).toBe(true);
    expect(scheduled.runId).not.toBe(refresh.runId);
    expect(scheduled.job.data).toEqual({ integrationId: integration.id, runId: scheduled.runId });
    const again = await pulls.request(integration, 'schedule');
    expect(again).toMatchObject({ created: false, runId: scheduled.runId });

    worker = await h.startWorker();
    expect(await finished(refresh)).toMatchObject({ status: 'succeeded', pullScope: expect.any(String), counts: { options: { pulled: 2 } } });
    expect(await finished(scheduled)).toMatchObject({ status: 'succeeded', pullScope: null, counts: { options: { pulled: 4 } } });
  });

  it('a narrowed refresh joins a queued whole pull or one of its own scope, never one narrowed differently', async () => {
    const integration = await syncedIntegration();
    const other = { productId: catalog[1]!.id };
    // No worker: every run stays queued while the requests arrive.
    await h.stopWorker(worker);
    const forA = await pulls.request(integration, 'refresh', narrowed);
    const forB = await pulls.request(integration, 'refresh', other);
    expect(forB.created).toBe(true);
    expect(forB.runId).not.toBe(forA.runId);
    expect(forB.job.data).toMatchObject(other);
    expect(await pulls.request(integration, 'refresh', narrowed)).toMatchObject({ created: false, runId: forA.runId });
    const whole = await pulls.request(integration, 'schedule');
    expect(whole.created).toBe(true);

    worker = await h.startWorker();
    expect(await finished(forA)).toMatchObject({ status: 'succeeded', counts: { options: { pulled: 2 } } });
    expect(await finished(forB)).toMatchObject({ status: 'succeeded', counts: { options: { pulled: 2 } } });
    expect(await finished(whole)).toMatchObject({ status: 'succeeded', counts: { options: { pulled: 4 } } });
    // With only a whole pull queued, a narrowed refresh joins it.
    await h.stopWorker(worker);
    const queuedWhole = await pulls.request(integration, 'schedule');
    expect(await pulls.request(integration, 'refresh', other)).toMatchObject({ created: false, runId: queuedWhole.runId });
    worker = await h.startWorker();
    expect(await finished(queuedWhole)).toMatchObject({ status: 'succeeded', pullScope: null });
  });

  /** `fn` while only `integrationId` may pull (the others' schedules off), after earlier pulls ended. */
  async function alone<T>(integrationId: string, fn: () => Promise<T>): Promise<T> {
    await waitFor('earlier pulls to end', async () => (await h.db.prisma.syncRun.count({ where: { status: { in: ['queued', 'running'] } } })) === 0, { timeoutMs: 120_000 });
    await h.db.prisma.integration.updateMany({ where: { id: { not: integrationId } }, data: { availabilityPullEnabled: false } });
    try {
      return await fn();
    } finally {
      await h.db.prisma.integration.updateMany({ data: { availabilityPullEnabled: true } });
    }
  }

  it('a tier whose run was recorded but whose job was never added gets its job at the retried tick, and is pulled', async () => {
    const integration = await syncedIntegration();
    await h.db.integrations.update(integration.id, { availabilityPull: { tiers: [{ daysAhead: 1, intervalMinutes: 5 }] } });
    await alone(integration.id, async () => {
      // Redis refuses the first enqueue, after the run was recorded.
      let failures = 1;
      const flaky = new Proxy(h.producer, {
        get(target, prop) {
          if (prop === 'enqueue' && failures > 0) {
            return () => {
              failures -= 1;
              return Promise.reject(new Error('redis went away'));
            };
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const tick = (at: Date) => createPullTickHandler({ db: h.db, pulls: new PullRequests(h.db, flaky), abandonAfterMs: h.config.pull.settings.abandonAfterMs, now: () => at })({}, ctx);
      const [due] = await schedule(integration.id);
      await expect(tick(new Date(due!))).rejects.toThrow('redis went away');
      const where = { integrationId: integration.id, pullScope: '["tier",0]' };
      const orphan = await h.db.prisma.syncRun.findFirstOrThrow({ where });
      expect(orphan.status).toBe('queued');
      expect(await h.producer.queue('pulls').getJob(`pull-${orphan.id}`)).toBeFalsy();
      // The tier was given back as it was due: the queue's retry of the tick claims it again.
      await tick(new Date(due!));
      const job = await waitFor('the queued run’s job', async () => (await h.producer.queue('pulls').getJob(`pull-${orphan.id}`)) ?? undefined, { timeoutMs: 30_000 });
      expect(await finished({ runId: orphan.id, job })).toMatchObject({ status: 'succeeded' });
      expect(await h.db.prisma.syncRun.count({ where })).toBe(1);
    });
  });

  it('a tier whose pull is stuck running past SYNC_RUN_ABANDON_MS is pulled at its next slot, and the stuck run abandoned', async () => {
    const integration = await syncedIntegration();
    await h.db.integrations.update(integration.id, { availabilityPull: { tiers: [{ daysAhead: 1, intervalMinutes: 5 }] } });
    const where = { integrationId: integration.id, pullScope: '["tier",0]' };
    await alone(integration.id, async () => {
      const stuck = await h.db.prisma.syncRun.create({
        data: { ...where, trigger: 'schedule', kind: 'availability_pull', status: 'running', startedAt: new Date(Date.now() - h.config.pull.settings.abandonAfterMs - MINUTE_MS) },
      });
      const [due] = await schedule(integration.id);
      expect(await tickAt(new Date(due!))).toEqual({ requested: 1 });
      const next = await h.db.prisma.syncRun.findFirstOrThrow({ where: { ...where, id: { not: stuck.id } } });
      const job = (await h.producer.queue('pulls').getJob(`pull-${next.id}`))!;
      expect(await finished({ runId: next.id, job })).toMatchObject({ status: 'succeeded' });
      expect(await h.db.runs.findRun(stuck.id)).toMatchObject({ status: 'failed' });
    });
  });
});

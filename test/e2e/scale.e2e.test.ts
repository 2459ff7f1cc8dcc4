import { createDb, type Db } from '@octo-sync/db';
import { catalogSyncJob, createRedis, JobProducer } from '@octo-sync/jobs';
import {
  clearPrefix,
  createTestDatabase,
  generateCatalog,
  startService,
  startTestSupplier,
  TEST_REDIS_URL,
  uniquePrefix,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
  type TestSupplier,
} from '@octo-sync/testkit';
import type { Redis } from 'ioredis';

const TICK_MS = 2_000;
const SHUTDOWN_TIMEOUT_MS = 6_000;

/**
 * Three worker processes against one database and one queue prefix, with a nightly cron firing
 * every two seconds: exactly one fan-out per tick, every eligible integration synced once per
 * tick, no schedule added or tick lost when workers restart, and a worker stopped mid-job
 * releasing it within the shutdown bound.
 */
describe('scaled-out workers and schedules', () => {
  let database: TestDatabase;
  let supplier: TestSupplier;
  let slowSupplier: TestSupplier;
  let db: Db;
  let redis: Redis;
  let producer: JobProducer;
  let env: Record<string, string>;
  const prefix = uniquePrefix('scale');
  const processes: ServiceProcess[] = [];
  const eligible: string[] = [];
  const skipped: Record<string, string> = {};

  const partner = () => `partner-${Math.random().toString(36).slice(2)}`;
  async function integration(baseUrl: string, isApproved = true): Promise<string> {
    const { integration: created } = await db.integrations.create({ partnerId: partner(), baseUrl, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved });
    return created.id;
  }
  async function startWorker(): Promise<ServiceProcess> {
    const worker = await startService('worker', env);
    processes.push(worker);
    return worker;
  }

  /** Every nightly fan-out any worker logged so far, by tick (epoch ms). */
  function fanouts(): Map<number, Array<Record<string, unknown>>> {
    const byTick = new Map<number, Array<Record<string, unknown>>>();
    for (const p of processes) {
      for (const line of p.lines) {
        if (line.msg !== 'nightly fan-out done') continue;
        const tick = Date.parse(String(line.tick));
        byTick.set(tick, [...(byTick.get(tick) ?? []), line]);
      }
    }
    return byTick;
  }
  const ticksSince = (since: number) => [...fanouts().keys()].filter((t) => t >= since).sort((a, b) => a - b);

  beforeAll(async () => {
    database = await createTestDatabase();
    supplier = await startTestSupplier({ catalog: generateCatalog({ products: 5, options: 1, units: 2, seed: 1 }) });
    slowSupplier = await startTestSupplier({ catalog: generateCatalog({ products: 5, options: 1, units: 2, seed: 2 }) });
    db = createDb({ databaseUrl: database.url, secretsKey: 'e2e-secrets-key' });
    redis = createRedis(TEST_REDIS_URL, 'worker');
    producer = new JobProducer({ connection: redis, prefix });
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SECRETS_KEY: 'e2e-secrets-key',
      OCTO_ALLOWED_HOSTS: `${supplier.hostPort},${slowSupplier.hostPort}`,
      ALLOW_INSECURE_OCTO_URLS: 'true',
      NIGHTLY_SYNC_CRON: '*/2 * * * * *',
      NIGHTLY_SYNC_SPREAD_MS: '0',
      // Probes are not under test here: once a year.
      HEALTH_PROBE_CRON: '0 0 1 1 *',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      SYNC_RETRY_BASE_MS: '50',
      SYNC_BUSY_RETRY_MS: '50',
      LOG_LEVEL: 'info',
    };

    for (let i = 0; i < 3; i++) eligible.push(await integration(supplier.url));
    skipped.unapproved = await integration(supplier.url, false);
    skipped.inactive = await integration(supplier.url);
    await db.integrations.setActive(skipped.inactive, false);
    skipped.deleted = await integration(supplier.url);
    await db.integrations.softDelete(skipped.deleted);
    skipped.down = await integration(supplier.url);
    await db.prisma.integration.update({ where: { id: skipped.down }, data: { healthStatus: 'DOWN', consecutiveFailures: 3, downSince: new Date() } });

    await Promise.all([startWorker(), startWorker(), startWorker()]);
  });

  afterAll(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await producer.close();
    redis.disconnect();
    await db.close();
    await supplier.close();
    await slowSupplier.close();
    await clearPrefix(prefix);
    await database.drop();
  });

  /** The schedule runs a tick's fan-out created (the run records the tick that requested it). */
  const runsOfTick = (tick: number) => db.prisma.syncRun.findMany({ where: { trigger: 'schedule', scheduleTick: new Date(tick) } });

  /**
   * One fan-out per tick, and per tick one schedule run for every eligible integration, the others
   * never. A fan-out that finds an integration's run of an earlier tick still queued joins it
   * (`joined`), and one that finds a run requested since its tick counts it as `covered`; both
   * only happen when the machine is slow, and each must be explained by such an earlier run.
   */
  async function expectOnePerTick(ticks: number[]): Promise<void> {
    await waitFor('the runs of these ticks to finish', async () => {
      const open = await db.prisma.syncRun.count({ where: { trigger: 'schedule', status: { in: ['queued', 'running'] }, scheduleTick: { lte: new Date(ticks.at(-1)!) } } });
      return open === 0;
    }, { timeoutMs: 60_000 });
    const logged = fanouts();
    for (const tick of ticks) {
      expect(logged.get(tick)).toHaveLength(1);
      const { requested, joined, covered } = logged.get(tick)![0] as { requested: number; joined: number; covered: number };
      expect(logged.get(tick)![0]).toMatchObject({ eligible: eligible.length });
      expect(requested + covered).toBe(eligible.length);
      // The tick's job was taken by one worker exactly once.
      const started = processes.flatMap((p) => p.lines).filter((l) => l.msg === 'job picked up' && l.jobId === `repeat:catalog-nightly:${tick}`);
      expect(started).toHaveLength(1);
      const runs = await runsOfTick(tick);
      const ids = runs.map((r) => r.integrationId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(eligible).toEqual(expect.arrayContaining(ids));
      expect(runs).toHaveLength(requested - joined);
      const earlier = await db.prisma.syncRun.findMany({ where: { trigger: 'schedule', scheduleTick: { lt: new Date(tick) } } });
      const queuedSince = new Set(earlier.filter((r) => r.queuedAt.getTime() >= tick).map((r) => r.integrationId));
      const startedSince = new Set(earlier.filter((r) => (r.startedAt?.getTime() ?? 0) >= tick).map((r) => r.integrationId));
      expect(covered).toBeLessThanOrEqual(queuedSince.size);
      expect(joined).toBeLessThanOrEqual(startedSince.size);
    }
    const runs = await db.prisma.syncRun.findMany({ where: { scheduleTick: { in: ticks.map((t) => new Date(t)) } } });
    expect(runs.every((r) => r.status === 'succeeded' || r.status === 'skipped')).toBe(true);
    // Whatever the joins, the fan-outs did create runs for every eligible integration.
    expect(new Set(runs.map((r) => r.integrationId))).toEqual(new Set(eligible));
    expect(await db.prisma.syncRun.count({ where: { integrationId: { in: Object.values(skipped) } } })).toBe(0);
  }

  /**
   * Consecutive cron ticks: none missing between the first and the last. BullMQ schedules a
   * tick's successor when the tick is taken, from then on: a tick taken after its successor was
   * due legitimately skips it (a stalled machine), a tick taken in time never does.
   */
  async function expectNoGap(ticks: number[]): Promise<void> {
    for (const [i, tick] of ticks.slice(0, -1).entries()) {
      if (ticks[i + 1]! - tick === TICK_MS) continue;
      const job = await producer.queue('schedules').getJob(`repeat:catalog-nightly:${tick}`);
      expect({ tick, takenLate: (job?.processedOn ?? 0) >= tick + TICK_MS }).toEqual({ tick, takenLate: true });
    }
  }

  it('runs exactly one fan-out per tick and syncs each eligible integration once per tick', async () => {
    const ticks = await waitFor('three complete ticks', () => {
      const seen = ticksSince(0);
      return seen.length >= 4 ? seen : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    // The last one may still be syncing; judge the first three.
    await expectOnePerTick(ticks.slice(0, 3));
    await expectNoGap(ticks);
    // Several processes took fan-outs: the schedule is shared, not owned by one of them.
    const schedulers = await producer.queue('schedules').getJobSchedulers();
    expect(schedulers.map((s) => s.key).sort()).toEqual(['availability-partitions', 'availability-pull', 'catalog-nightly', 'change-feed-prune', 'health-probe', 'history-prune']);
  });

  it('keeps one schedule and misses no tick while workers restart', async () => {
    const leaving = processes[0]!;
    leaving.kill('SIGTERM');
    expect(await leaving.exited).toEqual({ code: 0, signal: null });
    const joined = await startWorker();
    expect(joined.lines.some((l) => l.msg === 'job scheduler already registered')).toBe(true);
    const rejoinedAt = Date.now();
    const after = await waitFor('three more ticks after the restart', () => {
      const seen = ticksSince(rejoinedAt);
      return seen.length >= 3 ? seen : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });

    // Every tick since the workers started: this test does not depend on the one before it.
    const all = ticksSince(0);
    await expectNoGap(all.filter((t) => t <= after.at(-1)!));
    await expectOnePerTick(all.filter((t) => t < after.at(-1)!));
    const queue = producer.queue('schedules');
    // One scheduler each, however many workers registered them: nightly, health, pull tick, feed prune, history prune, slot partitions.
    expect(await queue.getJobSchedulersCount()).toBe(6);
    const nightly = await queue.getJobScheduler('catalog-nightly');
    expect(nightly).toMatchObject({ pattern: '*/2 * * * * *', tz: 'UTC' });
    // One next tick pending: delayed, or due and waiting (between a tick being taken and its
    // successor being added there is briefly none, so wait for it rather than sample once).
    await waitFor('exactly one pending nightly tick', async () => {
      const pending = (await queue.getJobs(['delayed', 'waiting', 'prioritized'])).filter((j) => j.name === 'catalog.nightly');
      return pending.length === 1;
    }, { timeoutMs: 30_000 });
  });

  it('stops taking work on SIGTERM and releases the job in flight to another worker within the bound', async () => {
    // DOWN: the nightly fan-out leaves it alone, so the only run is the one under test.
    const id = await integration(slowSupplier.url);
    await db.prisma.integration.update({ where: { id }, data: { healthStatus: 'DOWN' } });
    const hold = slowSupplier.hold();
    const { runId } = await db.runs.requestRun(id, 'admin');
    await producer.enqueue(catalogSyncJob, { integrationId: id, runId });
    await slowSupplier.waitForRequests(1, 30_000);

    const jobId = `sync-${runId}`;
    const busy = await waitFor('the worker running the held sync', () =>
      processes.find((p) => p.child.exitCode === null && p.lines.some((l) => l.msg === 'job picked up' && l.jobId === jobId)),
    { timeoutMs: 30_000 });
    busy.kill('SIGTERM');
    // Exit code 0: the shutdown finished within SHUTDOWN_TIMEOUT_MS (past it, the process exits 1).
    expect(await busy.exited).toEqual({ code: 0, signal: null });
    expect(busy.lines.some((l) => l.msg === 'shutdown timed out, exiting')).toBe(false);

    // It took no job after the signal, although fan-outs and syncs kept coming every two seconds.
    const stopAt = busy.lines.findIndex((l) => l.msg === 'shutting down');
    expect(stopAt).toBeGreaterThanOrEqual(0);
    expect(busy.lines.slice(stopAt).filter((l) => l.msg === 'job picked up')).toEqual([]);
    expect(busy.lines.slice(stopAt).some((l) => l.msg === 'jobs still running at shutdown: cancelling them')).toBe(true);

    // Another worker finished the run (the hold caught only the first request).
    const run = await waitFor('the released run to finish elsewhere', async () => {
      const r = await db.runs.findRun(runId);
      return r && (r.status === 'succeeded' || r.status === 'failed' || r.status === 'skipped') ? r : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    expect(run).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await db.prisma.product.count({ where: { integrationId: id, active: true } })).toBe(5);
    const takenOver = processes.filter((p) => p !== busy && p.lines.some((l) => l.msg === 'job picked up' && l.jobId === jobId));
    expect(takenOver).toHaveLength(1);
    hold.release();
  });
});

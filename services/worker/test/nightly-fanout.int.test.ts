import type { Job } from 'bullmq';
import { createDb, type Db } from '@octo-sync/db';
import { catalogSyncJob, createRedis, JobProducer, type JobContext, type Redis } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { SyncRequests } from '@octo-sync/runs';
import { clearPrefix, createTestDatabase, TEST_REDIS_URL, uniquePrefix, type TestDatabase } from '@octo-sync/testkit';
import { spreadDelay } from '../src/schedules/cron';
import { createNightlyHandler, type NightlyResult } from '../src/schedules/nightly.handler';
import { NIGHTLY_SCHEDULER_ID } from '../src/schedules/register-schedules';

// No worker consumes these queues: the test looks at the runs and jobs the fan-out leaves.
const log = createLogger({ name: 'nightly-fanout-test', level: 'silent' });
const SPREAD_MS = 3_600_000;
// More than one batch of the fan-out (1,000), so a tick spans two transactions.
const INTEGRATIONS = 1_050;
const POOL_SIZE = 8;

let database: TestDatabase;
let db: Db;
let redis: Redis;
let producer: JobProducer;
let prefix: string;
let ids: string[];

async function createIntegrations(count: number): Promise<string[]> {
  const created: string[] = [];
  // As many creations at once as the pool has connections: each is a transaction, which waits for
  // a connection only so long (Prisma's maxWait), and a busy machine must not make that run out.
  for (let i = 0; i < count; i += POOL_SIZE) {
    const batch = Array.from({ length: Math.min(POOL_SIZE, count - i) }, (_, j) =>
      db.integrations.create({ partnerId: `p-${i + j}`, baseUrl: 'http://127.0.0.1:9/', authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true }),
    );
    created.push(...(await Promise.all(batch)).map((r) => r.integration.id));
  }
  return created.sort();
}

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb({ databaseUrl: database.url, secretsKey: 'test-secrets-key', poolSize: POOL_SIZE });
  redis = createRedis(TEST_REDIS_URL, 'worker');
  prefix = uniquePrefix('fanout');
  producer = new JobProducer({ connection: redis, prefix });
  ids = await createIntegrations(INTEGRATIONS);
}, 120_000);

afterAll(async () => {
  await producer.close();
  redis.disconnect();
  await db.close();
  await database.drop();
  await clearPrefix(prefix);
});

function fanout(tick: number): Promise<NightlyResult> {
  const handler = createNightlyHandler({ db, requests: new SyncRequests(db, producer), spreadMs: SPREAD_MS });
  const job = { id: `repeat:${NIGHTLY_SCHEDULER_ID}:${tick}`, timestamp: tick } as Job;
  return handler({}, { job, token: undefined, signal: undefined, log } satisfies JobContext);
}

const jobOf = (integrationId: string, runId: string) => producer.queue('catalog').getJob(catalogSyncJob.jobId!({ integrationId, runId }));

describe('the nightly fan-out, set-based', () => {
  const tick = Date.now();

  it('records one run and one spread job per integration, a batch of runs per transaction', async () => {
    expect(await fanout(tick)).toMatchObject({ eligible: INTEGRATIONS, requested: INTEGRATIONS, joined: 0, covered: 0 });
    const runs = await db.prisma.syncRun.findMany({ where: { trigger: 'schedule' }, select: { id: true, integrationId: true, queuedAt: true, scheduleTick: true } });
    expect(runs.map((r) => r.integrationId).sort()).toEqual(ids);
    expect(runs.every((r) => r.scheduleTick?.getTime() === tick)).toBe(true);
    // A transaction's rows share its now(): one per batch, not one per integration.
    expect(new Set(runs.map((r) => r.queuedAt.getTime())).size).toBeLessThanOrEqual(2);
    const jobs = await producer.queue('catalog').getJobs(['delayed', 'waiting'], 0, -1);
    expect(jobs).toHaveLength(INTEGRATIONS);
    const runOf = new Map(runs.map((r) => [r.integrationId, r.id]));
    for (const index of [0, 1, 999, 1_000, INTEGRATIONS - 1]) {
      const job = await jobOf(ids[index]!, runOf.get(ids[index]!)!);
      expect(job?.opts.delay ?? 0).toBe(spreadDelay(index, INTEGRATIONS, SPREAD_MS));
    }
  });

  it('requests nothing twice when the tick is retried, and re-enqueues a queued run that lost its job', async () => {
    const lost = await db.prisma.syncRun.findFirstOrThrow({ where: { integrationId: ids[7]!, trigger: 'schedule' } });
    await (await jobOf(ids[7]!, lost.id))!.remove();
    expect(await fanout(tick)).toMatchObject({ eligible: INTEGRATIONS, requested: 0, covered: INTEGRATIONS });
    expect(await db.prisma.syncRun.count()).toBe(INTEGRATIONS);
    expect((await jobOf(ids[7]!, lost.id))?.opts.delay).toBe(spreadDelay(7, INTEGRATIONS, SPREAD_MS));
  });

  it('joins a run queued before the tick, widening a targeted one, and is not covered by an availability pull', async () => {
    const [targeted, pulled] = [ids[3]!, ids[4]!];
    await db.prisma.syncRun.deleteMany({ where: { integrationId: { in: [targeted, pulled] } } });
    const before = await db.prisma.syncRun.create({ data: { integrationId: targeted, trigger: 'refresh', productIds: ['a', 'b'] } });
    const next = Date.now() + 1;
    await db.prisma.syncRun.updateMany({ where: { id: before.id }, data: { queuedAt: new Date(next - 1_000) } });
    await db.prisma.syncRun.create({ data: { integrationId: pulled, trigger: 'schedule', kind: 'availability_pull', queuedAt: new Date(next + 1) } });
    await db.prisma.syncRun.updateMany({ where: { status: 'queued', id: { not: before.id }, kind: 'catalog' }, data: { status: 'succeeded' } });

    const result = await fanout(next);
    expect(result).toMatchObject({ requested: INTEGRATIONS, joined: 1, covered: 0 });
    expect(await db.prisma.syncRun.findUniqueOrThrow({ where: { id: before.id } })).toMatchObject({ status: 'queued', productIds: [] });
    expect(await db.prisma.syncRun.count({ where: { integrationId: pulled, kind: 'catalog', scheduleTick: new Date(next) } })).toBe(1);
    expect(await db.prisma.syncRun.count({ where: { integrationId: targeted, scheduleTick: new Date(next) } })).toBe(0);
  });

  it('leaves one queued run when a single request races the fan-out', async () => {
    const requests = new SyncRequests(db, producer);
    const target = ids[11]!;
    const candidate = await db.prisma.integration.findUniqueOrThrow({ where: { id: target } });
    for (let round = 0; round < 5; round++) {
      await db.prisma.syncRun.updateMany({ where: { status: 'queued' }, data: { status: 'succeeded' } });
      const tickOfRound = Date.now() + round;
      await Promise.all([requests.requestScheduled([candidate], new Date(tickOfRound), () => 0), requests.request(candidate, 'webhook')]);
      expect(await db.prisma.syncRun.count({ where: { integrationId: target, status: 'queued' } })).toBe(1);
    }
  });
});

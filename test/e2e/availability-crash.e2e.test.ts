import { createDb, type Db } from '@octo-sync/db';
import { availabilityApplyJob, createRedis, JobProducer } from '@octo-sync/jobs';
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

/** Every acknowledged slot change is applied, even when the worker applying them is killed. */
describe('availability changes in flight when a worker is SIGKILLed', () => {
  let database: TestDatabase;
  let supplier: TestSupplier;
  let db: Db;
  let redis: Redis;
  let producer: JobProducer;
  const prefix = uniquePrefix('avail-crash');
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    supplier = await startTestSupplier();
    db = createDb({ databaseUrl: database.url, secretsKey: 'e2e' });
    redis = createRedis(TEST_REDIS_URL, 'worker');
    producer = new JobProducer({ connection: redis, prefix });
  });
  afterAll(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await producer.close();
    redis.disconnect();
    await db.close();
    await supplier.close();
    await clearPrefix(prefix);
    await database.drop();
  });

  it('loses none of them', async () => {
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SECRETS_KEY: 'e2e',
      OCTO_ALLOWED_HOSTS: supplier.hostPort,
      ALLOW_INSECURE_OCTO_URLS: 'true',
      SYNC_LOCK_DURATION_MS: '2000',
      SYNC_STALLED_INTERVAL_MS: '1000',
      SCHEDULES_ENABLED: 'false',
      LOG_LEVEL: 'info',
    };
    const catalog = generateCatalog({ products: 2, options: 1, units: 1 });
    supplier.setCatalog(catalog);
    const { integration } = await db.integrations.create({
      partnerId: 'avail-crash', baseUrl: supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    const product = await db.prisma.product.create({ data: { integrationId: integration.id, octoId: catalog[0]!.id, raw: {}, contentHash: 'x' } });
    await db.prisma.productOption.create({ data: { productId: product.id, octoId: 'DEFAULT', raw: {}, contentHash: 'x' } });

    const total = 4000;
    const first = await startService('worker', env);
    processes.push(first);
    for (let i = 0; i < total; i += 200) {
      await Promise.all(
        Array.from({ length: 200 }, (_, k) =>
          producer.enqueue(availabilityApplyJob, {
            integrationId: integration.id,
            changes: [{ productId: catalog[0]!.id, optionId: 'DEFAULT', availabilityId: `slot-${i + k}`, localDateTimeStart: '2026-08-01T10:00:00Z', status: 'AVAILABLE', vacancies: 1, capacity: 1, orderSource: 'sequence', orderKey: '1' }],
          }),
        ),
      );
    }
    const count = () => db.prisma.availabilitySlot.count({ where: { integrationId: integration.id } });
    await waitFor('some changes to be applied', async () => (await count()) > 200, { timeoutMs: 30_000 });
    first.kill('SIGKILL');
    await first.exited;
    const applied = await count();
    expect(applied).toBeLessThan(total);

    const second = await startService('worker', env);
    processes.push(second);
    await waitFor('every change to be applied', async () => (await count()) === total, { timeoutMs: 60_000, intervalMs: 200 });
    const queue = producer.queue('availability');
    await waitFor('the queue to drain', async () => {
      const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'failed');
      return counts.wait === 0 && counts.active === 0 && counts.delayed === 0 ? counts : undefined;
    });
    expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
  });
});

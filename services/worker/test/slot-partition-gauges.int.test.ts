import { createDb, type Db } from '@octo-sync/db';
import { createRedis, JobProducer, type Redis } from '@octo-sync/jobs';
import { capturingLogger, clearPrefix, createTestDatabase, TEST_REDIS_URL, uniquePrefix, type TestDatabase } from '@octo-sync/testkit';
import { createWorkerMetrics, serveWorkerMetrics, type MetricsEndpoint } from '../src/metrics';

const partitionOf = (offset: number) => {
  const now = new Date();
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString();
  return `availability_slots_p${month.slice(0, 4)}${month.slice(5, 7)}`;
};

/**
 * The slot partitions' gauges come from the worker's sampler, which reads the attached months from
 * the catalog: right from the worker's start, whether or not a maintenance pass ran or ended.
 */
describe('slot partition gauges', () => {
  let database: TestDatabase;
  let db: Db;
  let redis: Redis;
  let producer: JobProducer;
  let prefix: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'slot-gauges-test', poolSize: 4 });
    redis = createRedis(TEST_REDIS_URL, 'worker');
    prefix = uniquePrefix('slot-gauges');
    producer = new JobProducer({ connection: redis, prefix });
  });
  afterAll(async () => {
    await producer?.close();
    redis?.disconnect();
    await db?.close();
    await database?.drop();
    await clearPrefix(prefix);
  });

  async function sampled(): Promise<Map<string, number>> {
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    // Sampled once as it starts, before the first scrape; no pass of availability.partitions runs here.
    const endpoint: MetricsEndpoint = await serveWorkerMetrics({ metrics, producer, db, log: capturingLogger('slot-gauges').log }, { host: '127.0.0.1', port: 0, sampleMs: 3_600_000 });
    try {
      const text = await (await fetch(`http://127.0.0.1:${endpoint.port}/metrics`)).text();
      return new Map([...text.matchAll(/^(octo_sync_slot_partition_\w+) (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    } finally {
      await endpoint.close();
    }
  }

  it('reports the months ahead and the accepted months without a partition, from pg_inherits', async () => {
    // The migration created the current month and 25 ahead.
    expect(await sampled()).toEqual(new Map([['octo_sync_slot_partition_months_ahead', 26], ['octo_sync_slot_partition_accepted_months_missing', 0]]));
    // A month inside what the gateway accepts loses its partition: both gauges say so at once.
    await db.pool.query(`ALTER TABLE availability_slots DETACH PARTITION ${partitionOf(6)}`);
    expect(await sampled()).toEqual(new Map([['octo_sync_slot_partition_months_ahead', 6], ['octo_sync_slot_partition_accepted_months_missing', 1]]));
  });
});

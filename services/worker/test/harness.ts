import { createDb, type Db, type SyncRun } from '@octo-sync/db';
import { catalogSyncJob, createRedis, JobProducer } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import {
  clearPrefix,
  createTestDatabase,
  startTestSupplier,
  TEST_REDIS_URL,
  uniquePrefix,
  type TestDatabase,
  type TestSupplier,
} from '@octo-sync/testkit';
import type { Redis } from 'ioredis';
import { loadWorkerConfig, type WorkerConfig } from '../src/config';
import { startWorkerRuntime, type WorkerRuntime } from '../src/runtime';

export const AUTH_KEY = 'sk_test_supplier_key_123';

/** A private database, a test supplier, a worker and a producer: everything a sync test needs. */
export interface Harness {
  database: TestDatabase;
  supplier: TestSupplier;
  config: WorkerConfig;
  env: Record<string, string>;
  /** A data-access layer of the test's own (not the worker's). */
  db: Db;
  producer: JobProducer;
  worker: WorkerRuntime;
  startWorker(): Promise<WorkerRuntime>;
  /** Closes one of the harness's workers (as its process's SIGTERM would); `close` skips it then. */
  stopWorker(worker: WorkerRuntime): Promise<void>;
  createIntegration(overrides?: { isApproved?: boolean; authType?: 'bearer' | 'api_key'; baseUrl?: string }): Promise<string>;
  /** Requests a run, enqueues it and waits for it to finish; returns the run as recorded. */
  sync(integrationId: string, options?: { force?: boolean; trigger?: 'webhook' | 'admin' | 'schedule' }): Promise<SyncRun>;
  enqueueRun(integrationId: string, options?: { force?: boolean; trigger?: 'webhook' | 'admin' | 'schedule' }): Promise<{ runId: string; finished: Promise<SyncRun> }>;
  close(): Promise<void>;
}

export async function startHarness(overrides: Record<string, string> = {}): Promise<Harness> {
  const database = await createTestDatabase();
  const supplier = await startTestSupplier();
  const prefix = uniquePrefix('worker');
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    SECRETS_KEY: 'test-secrets-key',
    ALLOW_INSECURE_OCTO_URLS: 'true',
    SYNC_RETRY_BASE_MS: '20',
    SYNC_BUSY_RETRY_MS: '20',
    LOG_LEVEL: 'silent',
    METRICS_PORT: '0',
    // No cron ticks in the middle of a test; schedule tests opt in (or enqueue fan-outs by hand).
    SCHEDULES_ENABLED: 'false',
    ...overrides,
    // The test supplier is always reachable; a test may allow more hosts (a local receiver).
    OCTO_ALLOWED_HOSTS: [supplier.hostPort, ...(overrides.OCTO_ALLOWED_HOSTS === undefined ? [] : [overrides.OCTO_ALLOWED_HOSTS])].join(','),
  };
  const config = loadWorkerConfig(env);
  const log = createLogger({ name: 'worker-test', level: config.logLevel });
  const db = createDb({ databaseUrl: database.url, secretsKey: config.secretsKey, poolSize: 4 });
  const redis: Redis = createRedis(TEST_REDIS_URL, 'worker');
  const producer = new JobProducer({ connection: redis, prefix });
  const workers: WorkerRuntime[] = [];
  const startWorker = async () => {
    const runtime = await startWorkerRuntime(config, log);
    workers.push(runtime);
    return runtime;
  };
  const worker = await startWorker();

  const enqueueRun: Harness['enqueueRun'] = async (integrationId, options = {}) => {
    const { runId } = await db.runs.requestRun(integrationId, options.trigger ?? 'webhook', options);
    const job = await producer.enqueue(catalogSyncJob, { integrationId, runId });
    const finished = producer.waitFor(job, 30_000).then(async (outcome) => {
      if (outcome.state === 'pending') throw new Error(`run ${runId} did not finish in time`);
      return db.runs.findRun(runId).then((run) => run!);
    });
    return { runId, finished };
  };

  return {
    database,
    supplier,
    config,
    env,
    db,
    producer,
    worker,
    startWorker,
    stopWorker: async (runtime) => {
      const index = workers.indexOf(runtime);
      if (index === -1) throw new Error('not a worker of this harness, or stopped already');
      workers.splice(index, 1);
      await runtime.close();
    },
    createIntegration: async (o = {}) => {
      const { integration } = await db.integrations.create({
        partnerId: `partner-${Math.random().toString(36).slice(2)}`,
        baseUrl: o.baseUrl ?? supplier.url,
        authType: o.authType ?? 'bearer',
        authKey: AUTH_KEY,
        handlesTicketDelivery: false,
        isApproved: o.isApproved ?? true,
      });
      return integration.id;
    },
    sync: async (integrationId, options = {}) => (await enqueueRun(integrationId, options)).finished,
    enqueueRun,
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await producer.close();
      redis.disconnect();
      await db.close();
      await supplier.close();
      await clearPrefix(prefix);
      await database.drop();
    },
  };
}

/** The stored catalog of an integration, in a form easy to compare. */
export async function storedCatalog(db: Db, integrationId: string) {
  const products = await db.prisma.product.findMany({
    where: { integrationId },
    orderBy: { octoId: 'asc' },
    include: { options: { orderBy: { octoId: 'asc' }, include: { units: { orderBy: { octoId: 'asc' } } } } },
  });
  return products;
}

/**
 * The version (`xmin`) of each product, option and unit row of an integration, by table and id.
 * A row written since has a new one, whatever columns the write set (`updated_at` included or not).
 */
export async function catalogRowVersions(db: Db, integrationId: string): Promise<Map<string, string>> {
  const { rows } = await db.pool.query<{ k: string; x: string }>(
    `SELECT 'p' || p.id AS k, p.xmin::text AS x FROM products p WHERE p.integration_id = $1::uuid
     UNION ALL SELECT 'o' || o.id, o.xmin::text FROM product_options o JOIN products p ON p.id = o.product_id WHERE p.integration_id = $1::uuid
     UNION ALL SELECT 'u' || u.id, u.xmin::text FROM units u JOIN product_options o ON o.id = u.option_id JOIN products p ON p.id = o.product_id WHERE p.integration_id = $1::uuid`,
    [integrationId],
  );
  return new Map(rows.map((r) => [r.k, r.x]));
}

/** Rows of products, options and units created or rewritten since `before` ({@link catalogRowVersions}). */
export async function rowsWrittenSince(db: Db, integrationId: string, before: ReadonlyMap<string, string>): Promise<number> {
  let written = 0;
  for (const [key, version] of await catalogRowVersions(db, integrationId)) if (before.get(key) !== version) written += 1;
  return written;
}

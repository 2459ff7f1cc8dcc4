import { createDb, type Db } from '@octo-sync/db';
import { createRedis, JobProducer, type RedisConnection } from '@octo-sync/jobs';
import { createTestDatabase, type TestDatabase } from './database';
import { startService, type ServiceProcess } from './processes';
import { clearPrefix, TEST_REDIS_URL, uniquePrefix } from './redis';
import type { TestRedisCluster } from './redis-cluster';
import { startTestSupplier, type TestSupplier } from './supplier';

/**
 * What an end-to-end test runs against: a private database and queue prefix, a local OCTO
 * supplier the services are allowed to reach, a data-access layer and a producer of the test's
 * own, and the gateway and workers as real processes, started on demand and all stopped by
 * `close()`.
 */
export interface TestStack {
  database: TestDatabase;
  supplier: TestSupplier;
  prefix: string;
  db: Db;
  producer: JobProducer;
  /** The environment every service process gets (plus the overrides given to `start`). */
  env: Record<string, string>;
  start(kind: 'gateway' | 'worker', overrides?: Record<string, string>): Promise<ServiceProcess>;
  /** The base URL of a started gateway (it listens on a free port). */
  gatewayUrl(gateway: ServiceProcess): Promise<string>;
  close(): Promise<void>;
}

export const STACK_SECRETS_KEY = 'e2e-secrets-key';
export const STACK_JWT_SECRET = 'e2e-jwt-secret-0123456789abcdef';

export interface StackOptions {
  catalog?: unknown[];
  env?: Record<string, string>;
  /** Run on this Redis Cluster (with a hash-tag prefix) instead of the test Redis; its owner tears it down. */
  redisCluster?: TestRedisCluster;
}

export async function startStack(label: string, options: StackOptions = {}): Promise<TestStack> {
  const database = await createTestDatabase();
  const supplier = await startTestSupplier(options.catalog ? { catalog: options.catalog } : {});
  const cluster = options.redisCluster;
  // A private cluster belongs to one stack: it runs under the default hash tag, as production would.
  const prefix = cluster === undefined ? uniquePrefix(label) : '{octo-sync}';
  const db = createDb({ databaseUrl: database.url, secretsKey: STACK_SECRETS_KEY, poolSize: 4 });
  const redis: RedisConnection = createRedis({ url: TEST_REDIS_URL, clusterNodes: cluster?.nodes ?? [] }, 'worker');
  const producer = new JobProducer({ connection: redis, prefix });
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    ...(cluster === undefined ? {} : { REDIS_CLUSTER_NODES: cluster.env }),
    SECRETS_KEY: STACK_SECRETS_KEY,
    JWT_SECRET: STACK_JWT_SECRET,
    OCTO_ALLOWED_HOSTS: supplier.hostPort,
    ALLOW_INSECURE_OCTO_URLS: 'true',
    SCHEDULES_ENABLED: 'false',
    SYNC_RETRY_BASE_MS: '50',
    PORT: '0',
    // startService waits for the "started" line, which is logged at info.
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const processes: ServiceProcess[] = [];
  return {
    database,
    supplier,
    prefix,
    db,
    producer,
    env,
    start: async (kind, overrides = {}) => {
      const service = await startService(kind, { ...env, ...overrides });
      processes.push(service);
      return service;
    },
    gatewayUrl: async (gateway) => `http://127.0.0.1:${String((await gateway.waitForLog((line) => line.msg === 'gateway started')).port)}`,
    close: async () => {
      for (const service of processes) if (service.child.exitCode === null && service.child.signalCode === null) service.kill('SIGKILL');
      await Promise.all(processes.map((service) => service.exited));
      await producer.close();
      redis.disconnect();
      await db.close();
      await supplier.close();
      if (cluster === undefined) await clearPrefix(prefix);
      await database.drop();
    },
  };
}

import type { Worker } from 'bullmq';
import { createDb, type Db } from '@octo-sync/db';
import { createRedis, startConsumer } from '@octo-sync/jobs';
import { createSupplierClient, type SupplierClient } from '@octo-sync/octo';
import type { Logger } from '@octo-sync/platform';
import { supplierBackoff } from './catalog/retry';
import { createSyncCatalogHandler } from './catalog/sync-catalog.handler';
import type { WorkerConfig } from './config';

export const USER_AGENT = 'octo-sync/0.1 (+https://github.com/octo-sync/octo-sync)';

export interface WorkerRuntime {
  db: Db;
  supplier: SupplierClient;
  workers: Worker[];
  /** Stops taking jobs, lets the jobs in flight finish, then closes every connection. */
  close(): Promise<void>;
}

export function createSupplierFromConfig(config: WorkerConfig): SupplierClient {
  return createSupplierClient({
    allowedHosts: config.OCTO_ALLOWED_HOSTS,
    allowInsecureHttp: config.ALLOW_INSECURE_OCTO_URLS,
    capabilities: config.OCTO_CAPABILITIES,
    userAgent: USER_AGENT,
    connectTimeoutMs: config.OCTO_CONNECT_TIMEOUT_MS,
    headersTimeoutMs: config.OCTO_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: config.OCTO_BODY_TIMEOUT_MS,
    totalTimeoutMs: config.OCTO_TOTAL_TIMEOUT_MS,
    maxBodyBytes: config.OCTO_MAX_BODY_BYTES,
    maxRedirects: config.OCTO_MAX_REDIRECTS,
  });
}

/** Everything one worker process runs. Tests start it in-process with their own config. */
export async function startWorkerRuntime(config: WorkerConfig, log: Logger): Promise<WorkerRuntime> {
  const db = createDb({ databaseUrl: config.DATABASE_URL, secretsKey: config.SECRETS_KEY, poolSize: config.DB_POOL_SIZE });
  const redis = createRedis(config.REDIS_URL, 'worker');
  const supplier = createSupplierFromConfig(config);
  const common = {
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    log,
    lockDurationMs: config.SYNC_LOCK_DURATION_MS,
    stalledIntervalMs: config.SYNC_STALLED_INTERVAL_MS,
  };

  const catalog = startConsumer(
    'catalog',
    {
      'catalog.sync': createSyncCatalogHandler({
        db,
        supplier,
        settings: {
          massRemoval: { ratio: config.SYNC_MASS_REMOVAL_RATIO, minimum: config.SYNC_MASS_REMOVAL_MIN },
          busyRetryMs: config.SYNC_BUSY_RETRY_MS,
          abandonAfterMs: config.SYNC_RUN_ABANDON_MS,
          writeTimeoutMs: config.SYNC_WRITE_TIMEOUT_MS,
        },
      }),
    },
    { ...common, concurrency: config.WORKER_CONCURRENCY, backoffStrategy: supplierBackoff({ baseMs: config.SYNC_RETRY_BASE_MS, maxMs: config.SYNC_RETRY_MAX_MS }) },
  );
  const workers = [catalog];
  for (const worker of workers) {
    worker.on('error', (err) => log.error({ err, queue: worker.name }, 'queue worker error'));
    worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) log.warn({ jobId: job.id, queue: worker.name, reason: err.message }, 'job failed for good');
    });
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  return {
    db,
    supplier,
    workers,
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await supplier.close();
      redis.disconnect();
      await db.close();
    },
  };
}

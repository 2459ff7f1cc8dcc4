import type { Worker } from 'bullmq';
import { createDb, type Db } from '@octo-sync/db';
import { createRedis, JobProducer, startConsumer } from '@octo-sync/jobs';
import { createSupplierClient, type SupplierClient } from '@octo-sync/octo';
import type { Logger } from '@octo-sync/platform';
import { SyncRequests } from '@octo-sync/runs';
import { createApplyAvailabilityHandler } from './availability/apply-availability.handler';
import { supplierBackoff } from './catalog/retry';
import { createSyncCatalogHandler } from './catalog/sync-catalog.handler';
import { createTestConnectionHandler } from './probes/test-connection.handler';
import type { WorkerConfig } from './config';
import { startHeartbeat } from './heartbeat';
import { withSlowLane } from './slow-lane';
import { createHealthFanoutHandler } from './health/health-fanout.handler';
import { createHealthProbeHandler } from './health/health-probe.handler';
import { checkRedisSettings } from './health/redis-settings';
import { createNightlyHandler } from './schedules/nightly.handler';
import { registerSchedules, scheduleDefinitions } from './schedules/register-schedules';

export const USER_AGENT = 'octo-sync/0.1 (+https://github.com/octo-sync/octo-sync)';

export interface WorkerRuntime {
  db: Db;
  supplier: SupplierClient;
  workers: Worker[];
  /** This process's id in the worker heartbeats. */
  workerId: string;
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
    stallTimeoutMs: config.OCTO_STALL_TIMEOUT_MS,
    totalTimeoutMs: config.OCTO_TOTAL_TIMEOUT_MS,
    maxBodyBytes: config.OCTO_MAX_BODY_BYTES,
    maxRedirects: config.OCTO_MAX_REDIRECTS,
  });
}

/** Everything one worker process runs. Tests start it in-process with their own config. */
export async function startWorkerRuntime(config: WorkerConfig, log: Logger): Promise<WorkerRuntime> {
  const db = createDb({ databaseUrl: config.DATABASE_URL, secretsKey: config.SECRETS_KEY, poolSize: config.DB_POOL_SIZE, log });
  const redis = createRedis(config.REDIS_URL, 'worker');
  const supplier = createSupplierFromConfig(config);
  // Jobs this process puts on queues itself (follow-up syncs, fan-outs).
  const producer = new JobProducer({ connection: redis, prefix: config.QUEUE_PREFIX });
  const requests = new SyncRequests(db, producer);
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
      'catalog.sync': withSlowLane(
        createSyncCatalogHandler({
          db,
          supplier,
          settings: {
            massRemoval: { ratio: config.SYNC_MASS_REMOVAL_RATIO, minimum: config.SYNC_MASS_REMOVAL_MIN },
            busyRetryMs: config.SYNC_BUSY_RETRY_MS,
            abandonAfterMs: config.SYNC_RUN_ABANDON_MS,
            writeTimeoutMs: config.SYNC_WRITE_TIMEOUT_MS,
            productLimits: { maxProductBytes: config.SYNC_MAX_PRODUCT_BYTES, maxStringBytes: config.SYNC_MAX_STRING_BYTES },
            maxWarnings: config.SYNC_MAX_WARNINGS,
          },
        }),
        db,
        { slowRunMs: config.SYNC_SLOW_RUN_MS, slots: config.SYNC_SLOW_SLOTS, retryMs: config.SYNC_SLOW_RETRY_MS },
      ),
    },
    { ...common, concurrency: config.WORKER_CONCURRENCY, backoffStrategy: supplierBackoff({ baseMs: config.SYNC_RETRY_BASE_MS, maxMs: config.SYNC_RETRY_MAX_MS }) },
  );
  const probes = startConsumer(
    'probes',
    { 'integration.test-connection': createTestConnectionHandler({ db, supplier }) },
    { ...common, concurrency: config.PROBE_CONCURRENCY },
  );
  const availability = startConsumer(
    'availability',
    { 'availability.apply': createApplyAvailabilityHandler({ db, requests, log, maxBatch: config.AVAILABILITY_MAX_BATCH }) },
    // Many jobs in flight at once is what lets the batcher group their changes into one statement.
    { ...common, concurrency: config.AVAILABILITY_CONCURRENCY },
  );
  const schedules = startConsumer(
    'schedules',
    {
      'catalog.nightly': createNightlyHandler({ db, requests, spreadMs: config.NIGHTLY_SYNC_SPREAD_MS }),
      'integration.health-fanout': createHealthFanoutHandler({
        db,
        producer,
        requests,
        settings: {
          downAfter: config.HEALTH_DOWN_AFTER,
          outage: { ratio: config.HEALTH_OUTAGE_RATIO, minimum: config.HEALTH_OUTAGE_MIN },
          collectTimeoutMs: config.HEALTH_COLLECT_TIMEOUT_MS,
        },
      }),
    },
    // One tick at a time per process: a fan-out waits for its tick's probes (run by every worker).
    { ...common, concurrency: 1 },
  );
  const health = startConsumer(
    'health',
    {
      'integration.health-check': createHealthProbeHandler({ db, supplier, settings: { timeoutMs: config.HEALTH_PROBE_TIMEOUT_MS } }),
    },
    { ...common, concurrency: config.HEALTH_CONCURRENCY },
  );
  const workers = [catalog, probes, availability, schedules, health];
  for (const worker of workers) {
    worker.on('error', (err) => log.error({ err, queue: worker.name }, 'queue worker error'));
    worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) log.warn({ jobId: job.id, queue: worker.name, reason: err.message }, 'job failed for good');
    });
  }
  for (const worker of [catalog, schedules]) {
    // Long or rare jobs: which process ran what is worth a line (operations, the scale tests).
    worker.on('active', (job) => log.info({ queue: worker.name, job: job.name, jobId: job.id }, 'job picked up'));
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  await checkRedisSettings(redis, log);
  if (config.SCHEDULES_ENABLED) {
    const definitions = scheduleDefinitions({
      nightlyCron: config.NIGHTLY_SYNC_CRON,
      nightlyTz: config.NIGHTLY_SYNC_TZ,
      healthCron: config.HEALTH_PROBE_CRON,
      healthTz: config.HEALTH_PROBE_TZ,
    });
    await registerSchedules(producer.queue('schedules'), definitions, log);
  }

  const heartbeat = await startHeartbeat(redis, config.QUEUE_PREFIX, config.WORKER_HEARTBEAT_MS, log);

  const graceMs = Math.floor(config.SHUTDOWN_TIMEOUT_MS / 2);
  return {
    db,
    supplier,
    workers,
    workerId: heartbeat.id,
    close: async () => {
      // A closing worker takes no new jobs: it stops counting as one at once.
      await heartbeat.stop();
      // Stop taking jobs and let those in flight finish for half the shutdown bound; then cancel
      // them (their handlers see the abort signal: a sync records its attempt and goes back to the
      // queue, a probe is not counted), so they are released to another worker well before the
      // process is killed at SHUTDOWN_TIMEOUT_MS.
      const cancel = setTimeout(() => {
        log.warn({ afterMs: graceMs }, 'jobs still running at shutdown: cancelling them');
        for (const worker of workers) worker.cancelAllJobs('worker shutting down');
      }, graceMs);
      try {
        await Promise.all(workers.map((w) => w.close()));
      } finally {
        clearTimeout(cancel);
      }
      await supplier.close();
      await producer.close();
      redis.disconnect();
      await db.close();
    },
  };
}

import type { Telemetry, Worker } from 'bullmq';
import { checkPoolBudget, createDb, whenPostgresAnswers, type Db } from '@octo-sync/db';
import { createRedis, JobProducer, RedisReachability, requestIdOf, startConsumer, SupplierBudget, type ConsumerOptions, type RedisConnection } from '@octo-sync/jobs';
import { createSupplierClient, type SupplierClient } from '@octo-sync/octo';
import { AppError, type Logger } from '@octo-sync/platform';
import { PullRequests, SyncRequests } from '@octo-sync/runs';
import { createAlerts, type Alerts } from './alerts/alerts';
import { createDeliverAlertHandler } from './alerts/deliver-alert.handler';
import { createAvailabilityApplier, type AvailabilityApplier } from './availability/apply-availability.handler';
import { createPullHandler } from './availability/pull-availability.handler';
import { createPullTickHandler } from './availability/pull-tick.handler';
import { createSlotPartitionsHandler } from './availability/slot-partitions.handler';
import { MemoryAdmission } from './catalog/memory-admission';
import { supplierBackoff } from './catalog/retry';
import { createSyncCatalogHandler } from './catalog/sync-catalog.handler';
import type { LockSettings, WorkerConfig } from './config';
import { conformanceSettings, createTestConnectionHandler } from './connection-test/test-connection.handler';
import { startHeartbeat, type Heartbeat } from './heartbeat';
import { withSlowLane } from './slow-lane';
import type { BudgetDeps } from './supplier-budget/budgeted-supplier';
import { abandonStalledRuns } from './stalled-runs';
import { createWorkerMetrics, serveWorkerMetrics, type MetricsEndpoint, type WorkerMetrics } from './metrics';
import { createHealthFanoutHandler } from './health/health-fanout.handler';
import { createHealthProbeHandler } from './health/health-probe.handler';
import { checkRedisSettings } from './health/redis-settings';
import { createNightlyHandler } from './schedules/nightly.handler';
import { createPruneChangesHandler } from './schedules/prune-changes.handler';
import { createPruneHistoryHandler } from './schedules/prune-history.handler';
import { registerSchedules, scheduleDefinitions } from './schedules/register-schedules';

const USER_AGENT = 'octo-sync/0.1 (+https://github.com/octo-sync/octo-sync)';

export interface WorkerRuntime {
  db: Db;
  supplier: SupplierClient;
  workers: Worker[];
  /** This process's id in the worker heartbeats. */
  workerId: string;
  /** The metrics endpoint, when `metrics.port` is set. */
  metricsEndpoint: MetricsEndpoint | null;
  /** Stops taking jobs, lets the jobs in flight finish, then closes every connection. */
  close(): Promise<void>;
}

export function createSupplierFromConfig(config: WorkerConfig): SupplierClient {
  return createSupplierClient({ ...config.outbound, userAgent: USER_AGENT });
}

/** What the consumers of one process share. */
interface Ports {
  config: WorkerConfig;
  log: Logger;
  db: Db;
  redis: RedisConnection;
  /** Whether Redis answers: every connection's errors go through it (an outage is logged once). */
  reachability: RedisReachability;
  supplier: SupplierClient;
  /** The suppliers' request budgets, shared with every worker through Redis. */
  budget: BudgetDeps;
  /** Jobs this process puts on queues itself (follow-up syncs, fan-outs). */
  producer: JobProducer;
  requests: SyncRequests;
  metrics: WorkerMetrics;
  /** Raises partner alerts (throttled, delivered by the `alerts` queue). */
  alerts: Alerts;
  /** BullMQ's tracing adapter while tracing is on (main.ts's `instrument.ts`). */
  queueTelemetry: Telemetry | undefined;
}

function consumerOptions({ redis, config, log, queueTelemetry }: Ports, lock: LockSettings, concurrency: number): ConsumerOptions {
  return { connection: redis, prefix: config.queuePrefix, log, concurrency, ...lock, telemetry: queueTelemetry };
}

function startCatalogConsumer(ports: Ports): Worker {
  const { db, supplier, config, metrics, alerts, budget } = ports;
  const admission = new MemoryAdmission(config.sync.maxInflightBytes);
  const sync = withSlowLane(createSyncCatalogHandler({ db, supplier, settings: config.sync, metrics, alerts, admission, budget }), db, config.sync.slowLane);
  // The catalog queue alone has its long lock: see SYNC_LOCK_DURATION_MS in config.ts.
  const options = { ...consumerOptions(ports, config.sync.lock, config.sync.concurrency), backoffStrategy: supplierBackoff(config.sync.retry) };
  const worker = startConsumer('catalog', { 'catalog.sync': sync }, options);
  abandonStalledRuns(worker, db, ports.log);
  return worker;
}

function startTestConnectionConsumer(ports: Ports): Worker {
  const { db, supplier, config, budget } = ports;
  return startConsumer('probes', { 'integration.test-connection': createTestConnectionHandler({ db, supplier, settings: conformanceSettings(config), budget }) }, consumerOptions(ports, config.jobLock, config.testConnection.concurrency));
}

function startAvailabilityConsumer(ports: Ports, applier: AvailabilityApplier): Worker {
  const { config, metrics } = ports;
  const apply = async (payload: Parameters<AvailabilityApplier['handle']>[0]) => {
    const results = await applier.handle(payload);
    metrics.availabilityApplied(results);
    return results;
  };
  return startConsumer('availability', { 'availability.apply': apply }, consumerOptions(ports, config.jobLock, config.availability.concurrency));
}

function startSchedulesConsumer(ports: Ports): Worker {
  const { db, producer, requests, config, alerts } = ports;
  const handlers = {
    'catalog.nightly': createNightlyHandler({ db, requests, spreadMs: config.schedules.nightlySpreadMs }),
    'integration.health-fanout': createHealthFanoutHandler({ db, producer, requests, alerts, settings: config.health }),
    'changes.prune': createPruneChangesHandler({ db, settings: config.changeFeed }),
    'history.prune': createPruneHistoryHandler({ db, settings: config.history }),
    'availability.pull-tick': createPullTickHandler({ db, pulls: new PullRequests(db, producer), abandonAfterMs: config.pull.settings.abandonAfterMs }),
    'availability.partitions': createSlotPartitionsHandler({ db, settings: config.slotPartitions, onWork: (work) => ports.metrics.slotPartitions(work) }),
  };
  // One tick at a time per process: a fan-out waits for its tick's probes (run by every worker).
  return startConsumer('schedules', handlers, consumerOptions(ports, config.jobLock, 1));
}

function startPullConsumer(ports: Ports): Worker {
  const { db, supplier, config, budget } = ports;
  const pull = createPullHandler({ db, supplier, settings: config.pull.settings, budget });
  const options = { ...consumerOptions(ports, config.jobLock, config.pull.concurrency), backoffStrategy: supplierBackoff(config.sync.retry) };
  const worker = startConsumer('pulls', { 'availability.pull': pull }, options);
  abandonStalledRuns(worker, db, ports.log);
  return worker;
}

function startHealthConsumer(ports: Ports): Worker {
  const { db, supplier, config, budget } = ports;
  const probe = createHealthProbeHandler({ db, supplier, settings: { timeoutMs: config.health.probeTimeoutMs }, budget });
  return startConsumer('health', { 'integration.health-check': probe }, consumerOptions(ports, config.jobLock, config.health.concurrency));
}

function startAlertsConsumer(ports: Ports): Worker {
  const { db, supplier, config } = ports;
  const deliver = createDeliverAlertHandler({ db, supplier, settings: config.alerts });
  const options = { ...consumerOptions(ports, config.jobLock, config.alerts.concurrency), backoffStrategy: supplierBackoff(config.alerts.retry) };
  return startConsumer('alerts', { 'alert.deliver': deliver }, options);
}

/** Queues whose jobs are long or rare: which process ran what is worth a line (operations, the scale tests). */
const ANNOUNCED_QUEUES = new Set(['catalog', 'schedules', 'pulls']);

function logWorkerEvents(workers: readonly Worker[], log: Logger, reachability: RedisReachability): void {
  for (const worker of workers) {
    worker.on('error', (err) => reachability.report(err, 'queue worker error', { queue: worker.name }));
    worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) log.warn({ jobId: job.id, queue: worker.name, reqId: requestIdOf(job.data), reason: err.message }, 'job failed for good');
    });
    if (ANNOUNCED_QUEUES.has(worker.name)) worker.on('active', (job) => log.info({ queue: worker.name, job: job.name, jobId: job.id, reqId: requestIdOf(job.data) }, 'job picked up'));
  }
}

/** Start-up was given up because the process is stopping (a signal came while Redis was not there). */
export class StartAbandonedError extends AppError {
  constructor() {
    super('START_ABANDONED', 'the worker stopped before it started');
  }
}

/** Resolves as `work` does, or rejects with {@link StartAbandonedError} as soon as `signal` aborts. */
function unlessAbandoned<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const abandon = () => reject(new StartAbandonedError());
    if (signal.aborted) abandon();
    signal.addEventListener('abort', abandon, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abandon));
  });
}

/** Closes what a start that was given up had opened; no job ran (no worker had reached Redis). */
async function closeAbandoned(ports: Ports, workers: readonly Worker[]): Promise<void> {
  // Forced: a graceful close waits for Redis, which is the very thing missing.
  await Promise.all(workers.map((w) => w.close(true)));
  await ports.producer.close();
  ports.reachability.stop();
  ports.redis.disconnect();
  await ports.supplier.close();
  await ports.db.close();
}

function budgetDeps(config: WorkerConfig, redis: RedisConnection, metrics: WorkerMetrics): BudgetDeps {
  const { slowForMs, backoffBaseMs, backoffMaxMs, throttleMaxMs } = config.budget;
  // A lease outlives any call (the outbound total timeout) so that only a dead worker's expires.
  const leaseTtlMs = config.outbound.totalTimeoutMs + 60_000;
  const budget = new SupplierBudget(redis, config.queuePrefix, { leaseTtlMs, slowForMs, backoffBaseMs, backoffMaxMs, maxHoldMs: throttleMaxMs });
  return { budget, config: config.budget, report: metrics.supplierThrottle };
}

/** What main.ts gives a worker runtime beyond its config; tests start one without. */
export interface RuntimeOptions {
  /** When it aborts while the workers still wait for Redis, the start is given up. */
  signal?: AbortSignal;
  /** BullMQ's tracing adapter, while tracing is on: jobs continue the traces their adds began. */
  queueTelemetry?: Telemetry;
}

/**
 * Everything one worker process runs. Tests start it in-process with their own config; `metrics`
 * is the process's registry (main.ts adds the default process metrics to it). When `signal`
 * aborts while the workers still wait for Redis, what was opened is closed and the start
 * rejects with {@link StartAbandonedError}.
 */
export async function startWorkerRuntime(config: WorkerConfig, log: Logger, metrics = createWorkerMetrics(), { signal, queueTelemetry }: RuntimeOptions = {}): Promise<WorkerRuntime> {
  const db = createDb({ databaseUrl: config.databaseUrl, secretsKey: config.secretsKey, poolSize: config.dbPoolSize, log, changeFeed: config.changeFeed.enabled });
  // Postgres may be down at start-up: the budget is then checked once it answers.
  const budget = { poolSize: config.dbPoolSize, maxShare: config.dbPoolMaxShare, runs: config.sync.concurrency + config.pull.concurrency };
  const poolCheck = whenPostgresAnswers(db.pool, config.databaseUrl, log, () => checkPoolBudget(db.pool, budget, log));
  await poolCheck.firstAttempt;
  const redis = createRedis({ url: config.redisUrl, clusterNodes: config.redisClusterNodes }, 'worker');
  const reachability = new RedisReachability(redis, { url: config.redisUrl, clusterNodes: config.redisClusterNodes }, log, config.redisDownReminderMs);
  const producer = new JobProducer({ connection: redis, prefix: config.queuePrefix, onError: reachability.report, telemetry: queueTelemetry });
  const requests = new SyncRequests(db, producer);
  const alerts = createAlerts({ db, redis, producer, prefix: config.queuePrefix, settings: config.alerts, log });
  const ports: Ports = { config, log, db, redis, reachability, supplier: createSupplierFromConfig(config), budget: budgetDeps(config, redis, metrics), producer, requests, metrics, alerts, queueTelemetry };
  const availability = createAvailabilityApplier({ db, requests, log, maxBatch: config.availability.maxBatch });
  const workers = [
    startCatalogConsumer(ports),
    startTestConnectionConsumer(ports),
    startAvailabilityConsumer(ports, availability),
    startSchedulesConsumer(ports),
    startHealthConsumer(ports),
    startPullConsumer(ports),
    startAlertsConsumer(ports),
  ];
  logWorkerEvents(workers, log, reachability);
  try {
    await unlessAbandoned(Promise.all(workers.map((w) => w.waitUntilReady())), signal);
  } catch (err) {
    poolCheck.stop();
    if (err instanceof StartAbandonedError) await closeAbandoned(ports, workers);
    throw err;
  }
  await checkRedisSettings(redis, log);
  if (config.schedules.enabled) await registerSchedules(producer.queue('schedules'), scheduleDefinitions(config.schedules), log);
  const { host, port, sampleMs, freshnessSampleMs } = config.metrics;
  const metricsEndpoint = port === null ? null : await serveWorkerMetrics({ metrics, producer, db, log }, { host, port, sampleMs, freshnessSampleMs });
  const heartbeat = await startHeartbeat(redis, config.queuePrefix, config.heartbeatMs, log);
  return {
    db,
    supplier: ports.supplier,
    workers,
    workerId: heartbeat.id,
    metricsEndpoint,
    close: async () => {
      poolCheck.stop();
      await metricsEndpoint?.close();
      await shutDown(ports, workers, heartbeat, availability);
    },
  };
}

async function shutDown(ports: Ports, workers: readonly Worker[], heartbeat: Heartbeat, availability: AvailabilityApplier): Promise<void> {
  const { config, log } = ports;
  // A closing worker takes no new jobs: it stops counting as one at once.
  await heartbeat.stop();
  // Stop taking jobs and let those in flight finish for half the shutdown bound; then cancel
  // them (their handlers see the abort signal: a sync records its attempt and goes back to the
  // queue, a probe is not counted), so they are released to another worker well before the
  // process is killed at SHUTDOWN_TIMEOUT_MS.
  // With Redis unreachable nothing can finish (a finished job is recorded in Redis) and a graceful
  // close would wait for it: cancel at once; the jobs' locks lapse and they run again elsewhere.
  const force = ports.reachability.down;
  if (force) for (const worker of workers) worker.cancelAllJobs('worker shutting down while redis is unreachable');
  const graceMs = Math.floor(config.shutdownTimeoutMs / 2);
  const cancel = setTimeout(() => {
    log.warn({ afterMs: graceMs }, 'jobs still running at shutdown: cancelling them');
    for (const worker of workers) worker.cancelAllJobs('worker shutting down');
  }, graceMs);
  try {
    await Promise.all(workers.map((w) => w.close(force)));
  } finally {
    clearTimeout(cancel);
  }
  // Each availability job waits for its batch, so the workers' close covers the batches in
  // flight; draining states that the pool must not close under a batch, rather than relying on it.
  await availability.drain();
  await ports.supplier.close();
  await ports.producer.close();
  ports.reachability.stop();
  ports.redis.disconnect();
  await ports.db.close();
}

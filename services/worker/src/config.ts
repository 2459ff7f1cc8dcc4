import { z } from 'zod';
import type { OutboundConfig } from '@octo-sync/octo';
import { redisProblems } from '@octo-sync/jobs';
import { DEV_SECRETS_KEY, env, parseEnv, type LogFormat } from '@octo-sync/platform';
import type { AlertSettings } from './alerts/alerts';
import type { SyncSettings } from './catalog/sync-catalog.handler';
import type { RetrySettings } from './catalog/retry';
import type { ChangeFeedSettings } from './schedules/prune-changes.handler';
import type { HistoryRetentionSettings } from './schedules/prune-history.handler';
import { healthConfig, scheduleFields, schedulesConfig, type HealthConfig, type SchedulesConfig } from './schedule-config';
import type { SlowLaneSettings } from './slow-lane';
import type { PullSettings } from './availability/pull-availability.handler';
import type { SlotPartitionSettings } from '@octo-sync/db';
import { budgetConfig, budgetFields, type BudgetConfig } from './supplier-budget/budget-config';

// Tracing's OTEL_* variables: read by instrument.ts before this file loads (@octo-sync/telemetry's loadTracingConfig).
const fields = z.object({
  DATABASE_URL: env.url('postgresql://postgres@127.0.0.1:5432/octo_sync', ['postgresql:', 'postgres:']),
  REDIS_URL: env.url('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
  REDIS_CLUSTER_NODES: env.list(),
  REDIS_DOWN_REMINDER_MS: env.int(60_000, { min: 100 }),
  QUEUE_PREFIX: env.string('octo-sync'),
  SECRETS_KEY: env.string(DEV_SECRETS_KEY),
  LOG_LEVEL: env.logLevel(),
  LOG_FORMAT: env.logFormat(),
  SHUTDOWN_TIMEOUT_MS: env.int(30_000, { min: 1_000 }),
  DB_POOL_SIZE: env.int(10, { min: 1, max: 200 }),
  DB_POOL_MAX_SHARE: z.coerce.number({ error: 'must be a number' }).gt(0).max(1).default(0.25),

  OCTO_ALLOWED_HOSTS: env.list(),
  ALLOW_INSECURE_OCTO_URLS: env.bool(false),
  // Content too: with octo/pricing alone a supplier that follows OCTO sends no titles or descriptions.
  OCTO_CAPABILITIES: env.string('octo/content, octo/pricing'),
  OCTO_CONNECT_TIMEOUT_MS: env.int(10_000, { min: 100 }),
  OCTO_HEADERS_TIMEOUT_MS: env.int(60_000, { min: 100 }),
  // Silence between two body chunks that fails a fetch (a stalled or slowloris supplier); the
  // total timeout stays the outer bound, so big catalogs that keep streaming are not cut short.
  OCTO_STALL_TIMEOUT_MS: env.int(30_000, { min: 100 }),
  OCTO_TOTAL_TIMEOUT_MS: env.int(300_000, { min: 100 }),
  OCTO_MAX_BODY_BYTES: env.int(64 * 1024 * 1024, { min: 1024 }),
  OCTO_MAX_REDIRECTS: env.int(3, { min: 0, max: 10 }),

  // bench:fleet (2,000 small suppliers, two workers): 8 syncs 32 runs/s against 26.5 for 2; memory
  // is bounded by WORKER_MAX_INFLIGHT_BYTES below, not by this.
  WORKER_CONCURRENCY: env.int(8, { min: 1, max: 64 }),
  // Catalog bytes this process holds at once across its runs (see catalog/memory-admission.ts).
  // A run's peak memory is a few times its body (bench:sync: 808 MB for 99 MB), so this bounds the
  // memory of catalog runs whatever WORKER_CONCURRENCY is. 128 MiB is two bodies of the largest
  // size accepted by default (OCTO_MAX_BODY_BYTES), the most the former default of two runs could
  // hold: a higher concurrency adds no worst case. A body larger than it still runs, alone.
  WORKER_MAX_INFLIGHT_BYTES: env.int(128 * 1024 * 1024, { min: 1024 * 1024 }),
  PROBE_CONCURRENCY: env.int(10, { min: 1, max: 256 }),
  AVAILABILITY_CONCURRENCY: env.int(200, { min: 1, max: 2_000 }),
  AVAILABILITY_MAX_BATCH: env.int(2_000, { min: 1, max: 20_000 }),
  // Stalled-job recovery of the catalog queue. A job's lock is renewed every lockDuration/2 by the
  // worker's event loop; a job whose lock lapses is "stalled" and handed to another worker (twice
  // at most, see the consumer). A sync yields to the event loop every few products and never
  // blocks it for more than a fraction of a second, so 30 s leaves a wide margin, while a crashed
  // worker's job is picked up within lockDuration + stalledInterval (35 s; the stalled check is
  // one script per interval per worker), then run again from the fetch. Even a wrongful
  // takeover cannot interleave writes: runs are fenced in Postgres (sync-runs.store).
  SYNC_LOCK_DURATION_MS: env.int(30_000, { min: 1_000 }),
  SYNC_STALLED_INTERVAL_MS: env.int(5_000, { min: 500 }),
  // The same for every other queue (connection tests, availability, schedules, health probes):
  // their jobs are short or wait on I/O, so BullMQ's defaults (30 s each) hold with room to spare
  // over the catalog's longest block of the event loop, and a crashed worker's slot changes are
  // taken over within a minute instead of the catalog's 2.5.
  JOB_LOCK_DURATION_MS: env.int(30_000, { min: 1_000 }),
  JOB_STALLED_INTERVAL_MS: env.int(30_000, { min: 500 }),
  SYNC_WRITE_TIMEOUT_MS: env.int(600_000, { min: 1_000 }),
  SYNC_BUSY_RETRY_MS: env.int(500, { min: 10 }),
  SYNC_PROGRESS_INTERVAL_MS: env.int(250, { min: 50 }),
  SYNC_RUN_ABANDON_MS: env.int(3_600_000, { min: 10_000 }),
  SYNC_RETRY_BASE_MS: env.int(5_000, { min: 10 }),
  SYNC_RETRY_MAX_MS: env.int(3_600_000, { min: 10 }),
  SYNC_MASS_REMOVAL_RATIO: z.coerce.number({ error: 'must be a number' }).min(0).max(1).default(0.5),
  SYNC_MASS_REMOVAL_MIN: env.int(5, { min: 0 }),
  // Quarantine limits: a product past one keeps its stored version and is listed in the run's
  // warnings. Far above real products (a few KiB, long HTML descriptions tens of KiB, the largest
  // with hundreds of priced options well under 4 MiB), yet they bound what one product costs.
  SYNC_MAX_PRODUCT_BYTES: env.int(4 * 1024 * 1024, { min: 1024 }),
  SYNC_MAX_STRING_BYTES: env.int(256 * 1024, { min: 256 }),
  SYNC_MAX_WARNINGS: env.int(100, { min: 0, max: 10_000 }),
  SYNC_TARGETED_CONCURRENCY: env.int(4, { min: 1, max: 32 }),
  // Conformance reports (the command and POST /me/test-connection): an answer slower than this is
  // reported, and at most this many paths where two fetches differ are listed.
  CONFORMANCE_SLOW_MS: env.int(5_000, { min: 1 }),
  CONFORMANCE_MAX_DIFFERENCES: env.int(20, { min: 1, max: 1_000 }),
  // Slow lane: an integration whose last run took longer than SYNC_SLOW_RUN_MS (or timed out)
  // may hold at most SYNC_SLOW_SLOTS of this worker's sync slots (default: all but one).
  SYNC_SLOW_RUN_MS: env.int(60_000, { min: 1 }),
  SYNC_SLOW_RETRY_MS: env.int(5_000, { min: 10 }),
  SYNC_SLOW_SLOTS: z.coerce.number({ error: 'must be an integer' }).int('must be an integer').min(1, 'must be >= 1').max(64, 'must be <= 64').optional(),
  WORKER_HEARTBEAT_MS: env.int(10_000, { min: 100, max: 600_000 }),
  // Prometheus endpoint (0: off); its queue and health gauges are sampled this often, not per scrape.
  METRICS_PORT: env.int(9464, { min: 0, max: 65_535 }),
  // The endpoint is unauthenticated: deployments keep it off public interfaces (README).
  METRICS_HOST: env.host('0.0.0.0'),
  METRICS_SAMPLE_MS: env.int(15_000, { min: 100, max: 3_600_000 }),
  // The per-tier freshness gauges: one statement over every active option's pull marks, so sampled less often.
  METRICS_FRESHNESS_SAMPLE_MS: env.int(60_000, { min: 100, max: 3_600_000 }),

  ...scheduleFields,
  ...budgetFields,
  // Change feed: off only where nothing consumes it (and for bench:sync's comparison).
  CHANGE_FEED_ENABLED: env.bool(true),
  CHANGE_FEED_RETENTION_DAYS: env.int(7, { min: 1, max: 3_650 }),
  CHANGE_FEED_PRUNE_BATCH: env.int(10_000, { min: 1, max: 1_000_000 }),
  PULL_CONCURRENCY: env.int(2, { min: 1, max: 64 }),
  PULL_REQUESTS_PER_SUPPLIER: env.int(4, { min: 1, max: 64 }),
  AVAILABILITY_RETENTION_DAYS: env.int(7, { min: 0, max: 3_650 }),
  AVAILABILITY_PRUNE_BATCH: env.int(5_000, { min: 1, max: 100_000 }),
  AVAILABILITY_PRUNE_MAX_BATCHES: env.int(20, { min: 1, max: 10_000 }),
  AVAILABILITY_PARTITION_LOCK_TIMEOUT_MS: env.int(5_000, { min: 1, max: 600_000 }),
  // Partner alerts: one of a kind per integration per ALERTS_THROTTLE_MS, retried for ALERTS_RETRY_FOR_MS.
  ALERTS_CONCURRENCY: env.int(10, { min: 1, max: 256 }),
  ALERTS_THROTTLE_MS: env.int(900_000, { min: 1 }),
  ALERTS_RETRY_FOR_MS: env.int(24 * 3_600_000, { min: 1_000 }),
  ALERTS_RETRY_BASE_MS: env.int(10_000, { min: 10 }),
  ALERTS_RETRY_MAX_MS: env.int(3_600_000, { min: 10 }),
  ALERTS_TIMEOUT_MS: env.int(10_000, { min: 100, max: 120_000 }),
  // history.prune: run history, alert deliveries and the audit trail (README, Configuration).
  SYNC_RUN_RETENTION_DAYS: env.int(30, { min: 1, max: 3_650 }),
  PULL_RUN_RETENTION_DAYS: env.int(3, { min: 1, max: 3_650 }),
  SYNC_RUN_KEEP_NEWEST: env.int(20, { min: 1, max: 10_000 }),
  ALERT_DELIVERY_RETENTION_DAYS: env.int(90, { min: 1, max: 3_650 }),
  INTEGRATION_EVENT_RETENTION_DAYS: env.int(365, { min: 1, max: 36_500 }),
  HISTORY_PRUNE_BATCH: env.int(5_000, { min: 1, max: 100_000 }),
});

const schema = fields.superRefine((cfg, ctx) => {
  for (const [path, message] of redisProblems(cfg.REDIS_CLUSTER_NODES, cfg.QUEUE_PREFIX)) ctx.addIssue({ code: 'custom', path: [path], message });
});

type WorkerEnv = z.output<typeof schema>;

/** BullMQ's stalled-job recovery for the jobs of one queue. */
export interface LockSettings {
  /** How long a job's lock lasts without renewal (renewed every half of it). */
  lockDurationMs: number;
  /** How often the worker looks for jobs whose lock lapsed. */
  stalledIntervalMs: number;
}

/** The `catalog` queue: consumer settings and what each `catalog.sync` run obeys. */
export interface SyncConfig extends SyncSettings {
  /** Sync jobs this process runs at once (`WORKER_CONCURRENCY`). */
  concurrency: number;
  /** Catalog bytes this process's runs hold at once (`WORKER_MAX_INFLIGHT_BYTES`). */
  maxInflightBytes: number;
  lock: LockSettings;
  retry: RetrySettings;
  slowLane: SlowLaneSettings;
}

/** The worker's configuration, grouped by what reads it. */
export interface WorkerConfig {
  databaseUrl: string;
  redisUrl: string;
  /** `REDIS_CLUSTER_NODES`: seed nodes (`host:port`) of a Redis Cluster; empty for one Redis at `redisUrl`. */
  redisClusterNodes: string[];
  /** `REDIS_DOWN_REMINDER_MS`: how often an unreachable Redis is logged again while the outage lasts. */
  redisDownReminderMs: number;
  queuePrefix: string;
  secretsKey: string;
  logLevel: string;
  logFormat: LogFormat;
  shutdownTimeoutMs: number;
  dbPoolSize: number;
  /** Start-up warns when `dbPoolSize` exceeds this share of the connections Postgres accepts. */
  dbPoolMaxShare: number;
  /** How often this process announces itself in Redis. */
  heartbeatMs: number;
  /** `GET /metrics` on `host`:`port` (port null: off; 0: any free port, for tests); gauges sampled every `sampleMs`, the freshness ones every `freshnessSampleMs`. */
  metrics: { host: string; port: number | null; sampleMs: number; freshnessSampleMs: number };
  /** The outbound supplier client (the user agent is the worker's own). */
  outbound: Omit<OutboundConfig, 'userAgent' | 'lookup' | 'tlsCa'>;
  sync: SyncConfig;
  /** Stalled-job recovery of every queue but `catalog`. */
  jobLock: LockSettings;
  /** Connection tests: jobs at once, and what their conformance report obeys. */
  testConnection: { concurrency: number; slowMs: number; maxDifferences: number };
  availability: {
    /** Jobs in flight at once: what lets the batcher group their changes into one statement. */
    concurrency: number;
    /** Most changes written in one statement. */
    maxBatch: number;
  };
  health: HealthConfig;
  /** Availability pulls: jobs at once per process and what each run obeys. */
  pull: { concurrency: number; settings: PullSettings };
  /** The slots' monthly partitions and their retention (`availability.partitions`). */
  slotPartitions: SlotPartitionSettings;
  schedules: SchedulesConfig;
  changeFeed: ChangeFeedSettings;
  history: HistoryRetentionSettings;
  alerts: AlertSettings;
  /** Every supplier call's budget and throttling (`THROTTLE_*`). */
  budget: BudgetConfig;
  /** `SECRETS_KEY` is still the development default (start-up warns). */
  usingDevSecretsKey: boolean;
}

function syncConfig(e: WorkerEnv): SyncConfig {
  return {
    concurrency: e.WORKER_CONCURRENCY,
    maxInflightBytes: e.WORKER_MAX_INFLIGHT_BYTES,
    lock: { lockDurationMs: e.SYNC_LOCK_DURATION_MS, stalledIntervalMs: e.SYNC_STALLED_INTERVAL_MS },
    retry: { baseMs: e.SYNC_RETRY_BASE_MS, maxMs: e.SYNC_RETRY_MAX_MS },
    slowLane: { slowRunMs: e.SYNC_SLOW_RUN_MS, slots: e.SYNC_SLOW_SLOTS ?? Math.max(1, e.WORKER_CONCURRENCY - 1), retryMs: e.SYNC_SLOW_RETRY_MS },
    massRemoval: { ratio: e.SYNC_MASS_REMOVAL_RATIO, minimum: e.SYNC_MASS_REMOVAL_MIN },
    busyRetryMs: e.SYNC_BUSY_RETRY_MS,
    progressIntervalMs: e.SYNC_PROGRESS_INTERVAL_MS,
    abandonAfterMs: e.SYNC_RUN_ABANDON_MS,
    writeTimeoutMs: e.SYNC_WRITE_TIMEOUT_MS,
    productLimits: { maxProductBytes: e.SYNC_MAX_PRODUCT_BYTES, maxStringBytes: e.SYNC_MAX_STRING_BYTES },
    maxWarnings: e.SYNC_MAX_WARNINGS,
    targetedConcurrency: e.SYNC_TARGETED_CONCURRENCY,
  };
}

function pullConfig(e: WorkerEnv): WorkerConfig['pull'] {
  return {
    concurrency: e.PULL_CONCURRENCY,
    settings: {
      perSupplier: e.PULL_REQUESTS_PER_SUPPLIER,
      busyRetryMs: e.SYNC_BUSY_RETRY_MS,
      abandonAfterMs: e.SYNC_RUN_ABANDON_MS,
      writeTimeoutMs: e.SYNC_WRITE_TIMEOUT_MS,
      maxWarnings: e.SYNC_MAX_WARNINGS,
      retentionDays: e.AVAILABILITY_RETENTION_DAYS,
    },
  };
}

function historyConfig(e: WorkerEnv): HistoryRetentionSettings {
  return {
    syncRunDays: e.SYNC_RUN_RETENTION_DAYS,
    pullRunDays: e.PULL_RUN_RETENTION_DAYS,
    keepNewestRuns: e.SYNC_RUN_KEEP_NEWEST,
    alertDeliveryDays: e.ALERT_DELIVERY_RETENTION_DAYS,
    integrationEventDays: e.INTEGRATION_EVENT_RETENTION_DAYS,
    batch: e.HISTORY_PRUNE_BATCH,
    maxBatches: 20,
  };
}

function outboundConfig(e: WorkerEnv): WorkerConfig['outbound'] {
  return {
    allowedHosts: e.OCTO_ALLOWED_HOSTS,
    allowInsecureHttp: e.ALLOW_INSECURE_OCTO_URLS,
    capabilities: e.OCTO_CAPABILITIES,
    connectTimeoutMs: e.OCTO_CONNECT_TIMEOUT_MS,
    headersTimeoutMs: e.OCTO_HEADERS_TIMEOUT_MS,
    stallTimeoutMs: e.OCTO_STALL_TIMEOUT_MS,
    totalTimeoutMs: e.OCTO_TOTAL_TIMEOUT_MS,
    maxBodyBytes: e.OCTO_MAX_BODY_BYTES,
    maxRedirects: e.OCTO_MAX_REDIRECTS,
  };
}

/**
 * The worker's configuration, parsed once from an environment (`process.env` in main.ts, a literal
 * object in tests): the only place it reads the environment. Throws a ConfigError naming every
 * bad variable, never a value.
 */
export function loadWorkerConfig(source: Record<string, string | undefined>): WorkerConfig {
  // OCTO_BODY_TIMEOUT_MS is the stall timeout's former name, still honoured.
  const e = parseEnv(schema, { ...source, OCTO_STALL_TIMEOUT_MS: source.OCTO_STALL_TIMEOUT_MS || source.OCTO_BODY_TIMEOUT_MS });
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    redisDownReminderMs: e.REDIS_DOWN_REMINDER_MS,
    queuePrefix: e.QUEUE_PREFIX,
    secretsKey: e.SECRETS_KEY,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    dbPoolSize: e.DB_POOL_SIZE,
    dbPoolMaxShare: e.DB_POOL_MAX_SHARE,
    heartbeatMs: e.WORKER_HEARTBEAT_MS,
    metrics: { host: e.METRICS_HOST, port: e.METRICS_PORT === 0 ? null : e.METRICS_PORT, sampleMs: e.METRICS_SAMPLE_MS, freshnessSampleMs: e.METRICS_FRESHNESS_SAMPLE_MS },
    outbound: outboundConfig(e),
    sync: syncConfig(e),
    jobLock: { lockDurationMs: e.JOB_LOCK_DURATION_MS, stalledIntervalMs: e.JOB_STALLED_INTERVAL_MS },
    testConnection: { concurrency: e.PROBE_CONCURRENCY, slowMs: e.CONFORMANCE_SLOW_MS, maxDifferences: e.CONFORMANCE_MAX_DIFFERENCES },
    availability: { concurrency: e.AVAILABILITY_CONCURRENCY, maxBatch: e.AVAILABILITY_MAX_BATCH },
    pull: pullConfig(e),
    slotPartitions: { retentionDays: e.AVAILABILITY_RETENTION_DAYS, lockTimeoutMs: e.AVAILABILITY_PARTITION_LOCK_TIMEOUT_MS, undatedBatch: e.AVAILABILITY_PRUNE_BATCH, undatedMaxBatches: e.AVAILABILITY_PRUNE_MAX_BATCHES },
    health: healthConfig(e),
    schedules: schedulesConfig(e),
    changeFeed: { enabled: e.CHANGE_FEED_ENABLED, retentionDays: e.CHANGE_FEED_RETENTION_DAYS, pruneBatch: e.CHANGE_FEED_PRUNE_BATCH, pruneMaxBatches: 100 },
    history: historyConfig(e),
    alerts: { concurrency: e.ALERTS_CONCURRENCY, throttleMs: e.ALERTS_THROTTLE_MS, retryForMs: e.ALERTS_RETRY_FOR_MS, retry: { baseMs: e.ALERTS_RETRY_BASE_MS, maxMs: e.ALERTS_RETRY_MAX_MS }, timeoutMs: e.ALERTS_TIMEOUT_MS },
    budget: budgetConfig(e),
    usingDevSecretsKey: e.SECRETS_KEY === DEV_SECRETS_KEY,
  };
}

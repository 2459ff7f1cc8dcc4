import { z } from 'zod';
import { DEV_SECRETS_KEY, env, parseEnv } from '@octo-sync/platform';
import { isValidCron, isValidTimeZone } from './schedules/cron';


/** A cron pattern (five fields, or six with seconds first), checked with cron-parser as BullMQ will run it. */
const cron = (fallback: string) => z.string().default(fallback).refine(isValidCron, 'must be a cron pattern of 5 fields (or 6, seconds first)');
const timeZone = (fallback: string) => z.string().default(fallback).refine(isValidTimeZone, 'must be an IANA time zone name such as UTC or Europe/Lisbon');

const schema = z.object({
  DATABASE_URL: env.url('postgresql://postgres@127.0.0.1:5432/octo_sync', ['postgresql:', 'postgres:']),
  REDIS_URL: env.url('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
  QUEUE_PREFIX: env.string('octo-sync'),
  SECRETS_KEY: env.string(DEV_SECRETS_KEY),
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_MS: env.int(30_000, { min: 1_000 }),
  DB_POOL_SIZE: env.int(10, { min: 1, max: 200 }),

  OCTO_ALLOWED_HOSTS: env.list(),
  ALLOW_INSECURE_OCTO_URLS: env.bool(false),
  // Content too: with octo/pricing alone a supplier that follows the spec sends no titles or descriptions.
  OCTO_CAPABILITIES: env.string('octo/content, octo/pricing'),
  OCTO_CONNECT_TIMEOUT_MS: env.int(10_000, { min: 100 }),
  OCTO_HEADERS_TIMEOUT_MS: env.int(60_000, { min: 100 }),
  // Silence between two body chunks that fails a fetch (a stalled or slowloris supplier); the
  // total timeout stays the outer bound, so big catalogs that keep streaming are not cut short.
  OCTO_STALL_TIMEOUT_MS: env.int(30_000, { min: 100 }),
  OCTO_TOTAL_TIMEOUT_MS: env.int(300_000, { min: 100 }),
  OCTO_MAX_BODY_BYTES: env.int(64 * 1024 * 1024, { min: 1024 }),
  OCTO_MAX_REDIRECTS: env.int(3, { min: 0, max: 10 }),

  WORKER_CONCURRENCY: env.int(2, { min: 1, max: 64 }),
  PROBE_CONCURRENCY: env.int(10, { min: 1, max: 256 }),
  AVAILABILITY_CONCURRENCY: env.int(200, { min: 1, max: 2_000 }),
  AVAILABILITY_MAX_BATCH: env.int(2_000, { min: 1, max: 20_000 }),
  // Stalled-job recovery (every queue). A job's lock is renewed every lockDuration/2 by the
  // worker's event loop; a job whose lock lapses is "stalled" and handed to another worker (twice
  // at most, see the consumer). Mapping a catalog yields to the event loop every few products, but
  // JSON.parse and hashing of a 64 MiB body (OCTO_MAX_BODY_BYTES) block it for seconds at a time;
  // 120 s leaves a wide margin over that, so a live run is never taken over, while a crashed
  // worker's job is picked up within lockDuration + stalledInterval (about 2.5 min). Even a
  // wrongful takeover cannot interleave writes: runs are fenced in Postgres (sync-runs.store).
  SYNC_LOCK_DURATION_MS: env.int(120_000, { min: 1_000 }),
  SYNC_STALLED_INTERVAL_MS: env.int(30_000, { min: 500 }),
  SYNC_WRITE_TIMEOUT_MS: env.int(600_000, { min: 1_000 }),
  SYNC_BUSY_RETRY_MS: env.int(500, { min: 10 }),
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
  // Slow lane: an integration whose last run took longer than SYNC_SLOW_RUN_MS (or timed out)
  // may hold at most SYNC_SLOW_SLOTS of this worker's sync slots (default: all but one).
  SYNC_SLOW_RUN_MS: env.int(60_000, { min: 1 }),
  SYNC_SLOW_RETRY_MS: env.int(5_000, { min: 10 }),
  SYNC_SLOW_SLOTS: z.coerce.number({ error: 'must be an integer' }).int('must be an integer').min(1, 'must be >= 1').max(64, 'must be <= 64').optional(),
  WORKER_HEARTBEAT_MS: env.int(10_000, { min: 100, max: 600_000 }),

  // Schedules (partner-api.md §6). Every worker registers them at start-up (idempotent upsert of
  // fixed scheduler ids); SCHEDULES_ENABLED=false only stops this process from registering them.
  SCHEDULES_ENABLED: env.bool(true),
  NIGHTLY_SYNC_CRON: cron('0 3 * * *'),
  NIGHTLY_SYNC_TZ: timeZone('UTC'),
  NIGHTLY_SYNC_SPREAD_MS: env.int(600_000, { min: 0, max: 24 * 3_600_000 }),
  HEALTH_PROBE_CRON: cron('*/5 * * * *'),
  HEALTH_PROBE_TZ: timeZone('UTC'),
  HEALTH_PROBE_TIMEOUT_MS: env.int(10_000, { min: 100, max: 120_000 }),
  HEALTH_DOWN_AFTER: env.int(3, { min: 1, max: 1_000 }),
  HEALTH_CONCURRENCY: env.int(10, { min: 1, max: 256 }),
  // Suspected local outage: when more than this share of a tick's probes (and more than
  // HEALTH_OUTAGE_MIN of them) fail, nobody changes state in that tick.
  HEALTH_OUTAGE_RATIO: z.coerce.number({ error: 'must be a number' }).min(0).max(1).default(0.5),
  HEALTH_OUTAGE_MIN: env.int(5, { min: 0 }),
  HEALTH_COLLECT_TIMEOUT_MS: env.int(240_000, { min: 1_000, max: 24 * 3_600_000 }),
});

export type WorkerConfig = Omit<z.infer<typeof schema>, 'SYNC_SLOW_SLOTS'> & { SYNC_SLOW_SLOTS: number; usingDevSecretsKey: boolean };

/** The worker's configuration: the only place it reads the environment. */
export function loadWorkerConfig(source: Record<string, string | undefined>): WorkerConfig {
  // OCTO_BODY_TIMEOUT_MS is the stall timeout's former name, still honoured.
  const parsed = parseEnv(schema, { ...source, OCTO_STALL_TIMEOUT_MS: source.OCTO_STALL_TIMEOUT_MS || source.OCTO_BODY_TIMEOUT_MS });
  return {
    ...parsed,
    SYNC_SLOW_SLOTS: parsed.SYNC_SLOW_SLOTS ?? Math.max(1, parsed.WORKER_CONCURRENCY - 1),
    usingDevSecretsKey: parsed.SECRETS_KEY === DEV_SECRETS_KEY,
  };
}

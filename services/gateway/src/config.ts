import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';
import { redisProblems } from '@octo-sync/jobs';
import { parseAllowedHosts } from '@octo-sync/octo/src/base-url';
import { DEV_SECRETS_KEY, env, parseEnv, type LogFormat } from '@octo-sync/platform';
import type { FreshReadSettings } from './fresh-read';
import type { AdmissionSettings } from './admission';

/** Development-only defaults: start-up logs a loud warning when either is still in use. */
export const DEV_JWT_SECRET = 'octo-sync-dev-jwt-secret-change-me';

const SYMMETRIC = ['HS256', 'HS384', 'HS512'] as const;
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;
type JwtAlgorithm = (typeof SYMMETRIC)[number] | (typeof ASYMMETRIC)[number];

// Tracing's OTEL_* variables: read by instrument.ts before this file loads (@octo-sync/telemetry's loadTracingConfig).
const schema = z
  .object({
    DATABASE_URL: env.url('postgresql://postgres@127.0.0.1:5432/octo_sync', ['postgresql:', 'postgres:']),
    REDIS_URL: env.url('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    REDIS_CLUSTER_NODES: env.list(),
    REDIS_DOWN_REMINDER_MS: env.int(60_000, { min: 100 }),
    QUEUE_PREFIX: env.string('octo-sync'),
    PORT: env.int(3000, { min: 0, max: 65535 }),
    HOST: env.host('0.0.0.0'),
    JWT_SECRET: env.string(DEV_JWT_SECRET).refine((v) => v.length >= 16, 'must be at least 16 characters'),
    JWT_PUBLIC_KEY: env.optionalString(),
    JWT_ALGORITHMS: env.list(),
    JWT_ISSUER: env.optionalString(),
    JWT_AUDIENCE: env.optionalString(),
    JWT_CLOCK_TOLERANCE_S: env.int(5, { max: 300 }),
    JWT_MAX_TTL_S: env.int(86_400, { min: 60 }),
    SECRETS_KEY: env.string(DEV_SECRETS_KEY),
    ALLOW_INSECURE_OCTO_URLS: env.bool(false),
    OCTO_ALLOWED_HOSTS: env.list(),
    SYNC_TRIGGER_WAIT_MS: env.int(20_000, { max: 600_000 }),
    FRESH_READ_WAIT_MS: env.int(2_000, { max: 600_000 }),
    FRESH_READ_BUDGET_SHARE: z.coerce.number({ error: 'must be a number' }).gt(0, 'must be > 0').max(1, 'must be <= 1').default(0.2),
    TEST_CONNECTION_WAIT_MS: env.int(15_000, { min: 100, max: 120_000 }),
    NOTIFY_WAIT_MS: env.int(2_000, { max: 60_000 }),
    HINT_COALESCE_MS: env.int(2_000, { max: 60_000 }),
    WEBHOOK_RATE_LIMIT: env.int(120, { min: 1 }),
    WEBHOOK_RATE_WINDOW_MS: env.int(60_000, { min: 1_000 }),
    NOTIFY_RATE_LIMIT: env.int(30_000, { min: 1 }),
    // At least one full notify batch (500 changes), so that every valid call can fit.
    NOTIFY_BURST: env.int(2_000, { min: 500 }),
    ADMISSION_BACKLOG_LIMIT: env.int(5_000, { min: 1 }),
    ADMISSION_BACKLOG_HARD_LIMIT: env.int(20_000, { min: 1 }),
    ADMISSION_WINDOW_MS: env.int(60_000, { min: 1_000, max: 3_600_000 }),
    // The worker's variable, read here too: notify refuses a slot start the worker would prune.
    AVAILABILITY_RETENTION_DAYS: env.int(7, { min: 0, max: 3_650 }),
    WEBHOOK_AUTH_CACHE_MS: env.int(5_000, { max: 300_000 }),
    WEBHOOK_REPLAY_TTL_S: env.int(86_400, { min: 60, max: 7 * 86_400 }),
    WEBHOOK_REPLAY_BODY_MAX_BYTES: env.int(16 * 1024, { min: 256, max: 1024 * 1024 }),
    AUTH_FAILURE_LIMIT: env.int(60, { min: 1 }),
    TRUST_PROXY: env.string('false'),
    BODY_LIMIT_BYTES: env.int(64 * 1024, { min: 1024 }),
    NOTIFY_BODY_LIMIT_BYTES: env.int(4 * 1024 * 1024, { min: 1024 }),
    DB_POOL_SIZE: env.int(10, { min: 1, max: 500 }),
    DB_POOL_MAX_SHARE: z.coerce.number({ error: 'must be a number' }).gt(0).max(1).default(0.25),
    LOG_LEVEL: env.logLevel(),
    LOG_FORMAT: env.logFormat(),
    SHUTDOWN_TIMEOUT_MS: env.int(15_000, { min: 100 }),
    PAGE_SESSION_IDLE_S: env.int(1_800, { min: 60, max: 86_400 }),
    PAGES_DIR: env.optionalString(),
  })
  .superRefine((cfg, ctx) => {
    for (const [path, message] of redisProblems(cfg.REDIS_CLUSTER_NODES, cfg.QUEUE_PREFIX)) ctx.addIssue({ code: 'custom', path: [path], message });
    for (const problem of parseAllowedHosts(cfg.OCTO_ALLOWED_HOSTS).problems) ctx.addIssue({ code: 'custom', path: ['OCTO_ALLOWED_HOSTS'], message: problem });
    const known: readonly string[] = [...SYMMETRIC, ...ASYMMETRIC];
    for (const alg of cfg.JWT_ALGORITHMS) {
      if (!known.includes(alg)) ctx.addIssue({ code: 'custom', path: ['JWT_ALGORITHMS'], message: `unknown algorithm (allowed: ${known.join(', ')})` });
    }
    const symmetric = cfg.JWT_ALGORITHMS.filter((a) => (SYMMETRIC as readonly string[]).includes(a));
    const asymmetric = cfg.JWT_ALGORITHMS.filter((a) => (ASYMMETRIC as readonly string[]).includes(a));
    // Mixing both families is how algorithm confusion happens: one key, two meanings.
    if (symmetric.length > 0 && asymmetric.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['JWT_ALGORITHMS'], message: 'must not mix HS* with RS*/PS*/ES* algorithms' });
    }
    if (cfg.ADMISSION_BACKLOG_HARD_LIMIT < cfg.ADMISSION_BACKLOG_LIMIT) {
      ctx.addIssue({ code: 'custom', path: ['ADMISSION_BACKLOG_HARD_LIMIT'], message: 'must not be below ADMISSION_BACKLOG_LIMIT' });
    }
    if (asymmetric.length > 0 && cfg.JWT_PUBLIC_KEY === undefined) {
      ctx.addIssue({ code: 'custom', path: ['JWT_PUBLIC_KEY'], message: 'is required for RS*/PS*/ES* algorithms' });
    }
    if (cfg.JWT_PUBLIC_KEY !== undefined && symmetric.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['JWT_ALGORITHMS'], message: 'must be RS*/PS*/ES* when JWT_PUBLIC_KEY is set' });
    }
    if (cfg.JWT_PUBLIC_KEY !== undefined) {
      try {
        createPublicKey(pem(cfg.JWT_PUBLIC_KEY));
      } catch {
        // Whatever crypto says about it, the value is unusable as a key (and is not echoed).
        ctx.addIssue({ code: 'custom', path: ['JWT_PUBLIC_KEY'], message: 'is not a PEM public key' });
      }
    }
  });

/** `TRUST_PROXY`: `true`/`false`, a hop count, or addresses and subnets as Express takes them. */
function parseTrustProxy(value: string): boolean | number | string {
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** Accept PEM keys passed with literal `\n` (a common way to put them in one env line). */
function pem(value: string): string {
  return value.includes('\\n') ? value.replace(/\\n/g, '\n') : value;
}

export interface JwtSettings {
  algorithms: JwtAlgorithm[];
  /** Built once: jsonwebtoken verifies ~50x faster with a KeyObject than with a string secret. */
  verifyKey: KeyObject;
  /** Only for HS*: the key that mints development tokens. */
  signKey: KeyObject | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  clockToleranceS: number;
  /** Tokens whose `exp` lies further ahead than this are refused (a leaked token must not live for years). */
  maxTtlS: number;
}

export interface GatewayConfig {
  databaseUrl: string;
  redisUrl: string;
  /** `REDIS_CLUSTER_NODES`: seed nodes (`host:port`) of a Redis Cluster; empty for one Redis at `redisUrl`. */
  redisClusterNodes: string[];
  /** `REDIS_DOWN_REMINDER_MS`: how often an unreachable Redis is logged again while the outage lasts. */
  redisDownReminderMs: number;
  queuePrefix: string;
  port: number;
  /** `HOST`: the address the HTTP server listens on (`0.0.0.0`: every IPv4 interface, the container convention). */
  host: string;
  jwt: JwtSettings;
  secretsKey: string;
  allowInsecureOctoUrls: boolean;
  /** `OCTO_ALLOWED_HOSTS` as normalised `host:port` keys: base URLs written with such a host may point at private addresses. */
  allowedHosts: ReadonlySet<string>;
  syncTriggerWaitMs: number;
  /** `FRESH_READ_WAIT_MS`, `FRESH_READ_BUDGET_SHARE`: how long a freshness-bounded read waits for its pull, and the share of a supplier's budget such pulls may spend. */
  freshRead: FreshReadSettings;
  testConnectionWaitMs: number;
  notifyWaitMs: number;
  /** How long a change hint's pull waits for more hints of its integration to join it. */
  hintCoalesceMs: number;
  webhookRateLimit: number;
  webhookRateWindowMs: number;
  /**
   * Slot changes (not calls) per integration per window that notify accepts, refilled
   * continuously (a token bucket: `notifyRateLimit / webhookRateWindowMs` per millisecond).
   */
  notifyRateLimit: number;
  /** The token bucket's size: slot changes an integration may send at once after a quiet spell. */
  notifyBurst: number;
  /** `ADMISSION_*`: past which availability backlog the gateway sheds availability writes, heaviest tenants first. */
  admission: AdmissionSettings;
  /** `AVAILABILITY_RETENTION_DAYS` (the worker's too): notify refuses slot starts older than this many days before today. */
  availabilityRetentionDays: number;
  /**
   * Failed webhook authentications (wrong secret, unknown id) per client address per window;
   * past it the address gets 429 before any lookup, except for the integrations it has itself
   * authenticated to on this gateway. Successful calls never count.
   */
  authFailureLimit: number;
  /** Express `trust proxy`: which hops' `X-Forwarded-For` name the client address. */
  trustProxy: boolean | number | string;
  /**
   * How long a webhook's integration row (secret digests, deleted/active/approved) is trusted
   * in this process; 0 looks it up on every call. Changes made through this gateway apply at
   * once; changes made elsewhere (other replicas, SQL) within this bound.
   */
  webhookAuthCacheMs: number;
  /** How long the answer of a signed webhook delivery is remembered (replays get it again). */
  webhookReplayTtlMs: number;
  /** Remembered answers with a larger body keep only their status and a short `replayed` body. */
  webhookReplayBodyMaxBytes: number;
  bodyLimitBytes: number;
  notifyBodyLimitBytes: number;
  dbPoolSize: number;
  /** Start-up warns when `dbPoolSize` exceeds this share of the connections Postgres accepts. */
  dbPoolMaxShare: number;
  logLevel: string;
  logFormat: LogFormat;
  shutdownTimeoutMs: number;
  /** `PAGE_SESSION_IDLE_S`: a portal or console session ends after this long without a call (and always when its JWT expires). */
  pageSessionIdleS: number;
  /** `PAGES_DIR`: the built scripts and styles of the portal and console; default `web/` beside the gateway's bundle (`dist/web/`). */
  pagesDir: string;
  /** Which development defaults are still in use (start-up warns about each). */
  devDefaults: Array<'JWT_SECRET' | 'SECRETS_KEY'>;
}

/**
 * The gateway's configuration, parsed once from an environment (`process.env` in main.ts, a
 * literal object in tests). Throws a ConfigError naming every bad variable, never a value.
 */
export function loadGatewayConfig(source: Record<string, string | undefined>): GatewayConfig {
  const e = parseEnv(schema, source);
  const publicKey = e.JWT_PUBLIC_KEY === undefined ? undefined : createPublicKey(pem(e.JWT_PUBLIC_KEY));
  let algorithms = e.JWT_ALGORITHMS as JwtAlgorithm[];
  if (algorithms.length === 0) {
    algorithms = publicKey === undefined ? ['HS256'] : publicKey.asymmetricKeyType === 'ec' ? ['ES256'] : ['RS256'];
  }
  const secretKey = createSecretKey(Buffer.from(e.JWT_SECRET, 'utf8'));
  const devDefaults: GatewayConfig['devDefaults'] = [];
  if (e.JWT_SECRET === DEV_JWT_SECRET && publicKey === undefined) devDefaults.push('JWT_SECRET');
  if (e.SECRETS_KEY === DEV_SECRETS_KEY) devDefaults.push('SECRETS_KEY');
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    redisDownReminderMs: e.REDIS_DOWN_REMINDER_MS,
    queuePrefix: e.QUEUE_PREFIX,
    port: e.PORT,
    host: e.HOST,
    jwt: {
      algorithms,
      verifyKey: publicKey ?? secretKey,
      signKey: publicKey === undefined ? secretKey : undefined,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      clockToleranceS: e.JWT_CLOCK_TOLERANCE_S,
      maxTtlS: e.JWT_MAX_TTL_S,
    },
    secretsKey: e.SECRETS_KEY,
    allowInsecureOctoUrls: e.ALLOW_INSECURE_OCTO_URLS,
    allowedHosts: parseAllowedHosts(e.OCTO_ALLOWED_HOSTS).keys,
    syncTriggerWaitMs: e.SYNC_TRIGGER_WAIT_MS,
    freshRead: { waitMs: e.FRESH_READ_WAIT_MS, budgetShare: e.FRESH_READ_BUDGET_SHARE },
    testConnectionWaitMs: e.TEST_CONNECTION_WAIT_MS,
    notifyWaitMs: e.NOTIFY_WAIT_MS,
    hintCoalesceMs: e.HINT_COALESCE_MS,
    webhookRateLimit: e.WEBHOOK_RATE_LIMIT,
    webhookRateWindowMs: e.WEBHOOK_RATE_WINDOW_MS,
    notifyRateLimit: e.NOTIFY_RATE_LIMIT,
    notifyBurst: e.NOTIFY_BURST,
    admission: { backlogLimit: e.ADMISSION_BACKLOG_LIMIT, hardLimit: e.ADMISSION_BACKLOG_HARD_LIMIT, windowMs: e.ADMISSION_WINDOW_MS },
    availabilityRetentionDays: e.AVAILABILITY_RETENTION_DAYS,
    authFailureLimit: e.AUTH_FAILURE_LIMIT,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    webhookAuthCacheMs: e.WEBHOOK_AUTH_CACHE_MS,
    webhookReplayTtlMs: e.WEBHOOK_REPLAY_TTL_S * 1000,
    webhookReplayBodyMaxBytes: e.WEBHOOK_REPLAY_BODY_MAX_BYTES,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    notifyBodyLimitBytes: e.NOTIFY_BODY_LIMIT_BYTES,
    dbPoolSize: e.DB_POOL_SIZE,
    dbPoolMaxShare: e.DB_POOL_MAX_SHARE,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    pageSessionIdleS: e.PAGE_SESSION_IDLE_S,
    // The bundle is dist/gateway.bundle.js, so its folder is dist/ and the web build is dist/web/.
    pagesDir: resolve(e.PAGES_DIR ?? resolve(__dirname, 'web')),
    devDefaults,
  };
}

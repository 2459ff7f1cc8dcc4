import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { createDb, type Db } from '@octo-sync/db';
import { createRedis, JobProducer, ReceiveTagLease } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { clearPrefix, createTestDatabase, TEST_REDIS_URL, uniquePrefix, type TestDatabase } from '@octo-sync/testkit';
import { buildApp, type GatewayApp } from '../src/app';
import { signToken } from '../src/auth';
import { loadGatewayConfig, type GatewayConfig } from '../src/config';
import { openApiValidator } from './openapi-validator';

export const JWT_SECRET = 'gateway-test-jwt-secret-0123456789';
export const SECRETS_KEY = 'gateway-test-secrets-key';
export const BASE = '/api/v1/partner-integrations';
/** The subject `useGateway`'s `admin()` signs for when none is named. */
export const ADMIN_SUB = 'admin-1';

/** Everything an HTTP test of the gateway needs: its own database, queue prefix and log capture. */
export interface GatewayHarness {
  app: GatewayApp;
  config: GatewayConfig;
  env: Record<string, string>;
  db: Db;
  redis: Redis;
  /** The app's pub/sub connection (webhook credential changes from other replicas). */
  subscriber: Redis;
  producer: JobProducer;
  prefix: string;
  database: TestDatabase;
  /** Every log line the app wrote, raw (to assert secrets never appear). */
  logText(): string;
  logLines(): Array<Record<string, unknown>>;
  token(role: 'partner' | 'admin' | 'reader', sub: string, ttl?: string | number): string;
  http(): ReturnType<typeof request>;
  close(): Promise<void>;
}

/**
 * A gateway app on a fresh database and queue prefix, or, with `shareWith`, a second app (other
 * settings) on the same database and prefix; closing that one leaves the shared ones alone.
 */
export async function startGateway(overrides: Record<string, string> = {}, shareWith?: GatewayHarness): Promise<GatewayHarness> {
  const database = shareWith?.database ?? (await createTestDatabase());
  const prefix = shareWith?.prefix ?? uniquePrefix('gateway');
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    JWT_SECRET,
    SECRETS_KEY,
    LOG_LEVEL: 'debug',
    ...overrides,
  };
  const config = loadGatewayConfig(env);
  let captured = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      captured += chunk.toString('utf8');
      done();
    },
  });
  const log = createLogger({ level: config.logLevel, name: 'gateway-test', destination: sink });
  const db = createDb({ databaseUrl: config.databaseUrl, secretsKey: config.secretsKey, poolSize: 4 });
  const redis = createRedis(config.redisUrl, 'producer');
  const subscriber = createRedis(config.redisUrl, 'producer');
  const producer = new JobProducer({ connection: redis, prefix });
  // Leased as main.ts does: gateways sharing a prefix hold different tags.
  const receiveTags = new ReceiveTagLease(redis, prefix, log);
  await receiveTags.firstAttempt;
  const app = buildApp({ config, db, producer, redis, subscriber, receiveTag: () => receiveTags.tag(), log });
  return {
    app,
    config,
    env,
    db,
    redis,
    subscriber,
    producer,
    prefix,
    database,
    logText: () => captured,
    logLines: () =>
      captured
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    token: (role, sub, ttl = '1h') => signToken(config.jwt, { role, sub, ttl }),
    http: () => request(app),
    close: async () => {
      await receiveTags.release();
      await producer.close();
      await redis.quit();
      await subscriber.quit();
      await db.close();
      if (shareWith) return;
      await clearPrefix(prefix);
      await database.drop();
    },
  };
}

type OpenApiCheck = ReturnType<typeof openApiValidator>;
type AuthHeader = { Authorization: string };

/** What `useGateway` gives a test file or describe block. */
export interface GatewaySuite {
  /** The gateway of this scope, filled in by its beforeAll. */
  h: GatewayHarness;
  /** Checks a response body against the gateway's OpenAPI document (see openApiValidator). */
  check: OpenApiCheck;
  partner: (sub: string) => AuthHeader;
  admin: (sub?: string) => AuthHeader;
}

/**
 * Starts a gateway (`startGateway(env)`) in a beforeAll of the calling scope and closes it in an
 * afterAll registered there too; Jest runs afterAll hooks in the order they were declared, so a
 * later afterAll of the same scope finds the gateway already closed.
 */
export function useGateway(env: Record<string, string> = {}): GatewaySuite {
  const h = {} as GatewayHarness;
  let started = false;
  let validate: OpenApiCheck | undefined;
  beforeAll(async () => {
    Object.assign(h, await startGateway(env));
    started = true;
    validate = openApiValidator(h.app.locals.openapi());
  });
  afterAll(async () => {
    if (started) await h.close();
  });
  const bearer = (role: 'partner' | 'admin', sub: string): AuthHeader => ({ Authorization: `Bearer ${h.token(role, sub)}` });
  return {
    h,
    check: (...args) => {
      if (!validate) throw new Error('check() before the gateway started');
      validate(...args);
    },
    partner: (sub) => bearer('partner', sub),
    admin: (sub = ADMIN_SUB) => bearer('admin', sub),
  };
}

/** A valid create body; `base_url` is https so it passes without ALLOW_INSECURE_OCTO_URLS. */
export function createBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    base_url: 'https://octo.example-partner.com/api/',
    auth_type: 'bearer',
    auth_key: 'sk_live_partner_credential_0001',
    handles_ticket_delivery: false,
    ...overrides,
  };
}

/**
 * `npm run bench:gateway`
 *
 * Webhook answers per second of the real gateway app (buildApp on its own database and Redis
 * prefix, logging at info to /dev/null as in production) for `POST .../{id}/sync/trigger` with
 * `Prefer: respond-async`, and for the same call with a wrong secret, beside a bare Express route
 * in the same process that just answers 200. Load comes from autocannon in a child process, to
 * 127.0.0.1 only, bounded in time. Then the cost of each step of the webhook path, one call at a
 * time. The last line on stdout is one JSON object with every figure.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import pino from 'pino';
import { createDb, type Db } from '@octo-sync/db';
import { catalogSyncJob, createRedis, JobProducer } from '@octo-sync/jobs';
import { createLogger, readSignatureHeaders, signatureMatches, signDelivery } from '@octo-sync/platform';
import { clearPrefix } from '@octo-sync/testkit';
import { buildApp } from '@octo-sync/gateway/src/app';
import { loadGatewayConfig } from '@octo-sync/gateway/src/config';
import { FixedWindowLimiter } from '@octo-sync/gateway/src/rate-limit';
import { WebhookAuthCache } from '@octo-sync/gateway/src/webhook-auth';
import { parseArgs, note, printResult, round } from './lib/args';
import { BENCH_REDIS_URL, dropBenchDatabase, recreateDatabase } from './lib/bench-db';
import { runLoad, type LoadResult } from './lib/load';
import { judge } from './targets';

const args = parseArgs(process.argv.slice(2), {
  connections: 20,
  duration: 8,
  warmup: 2,
  /** Sequential calls per step in the step-cost breakdown. */
  steps: 500,
  database: 'octo_sync_bench_gateway',
  keep: false,
  /** Run only these scenarios (comma-separated, e.g. `triggerAsync` under `node --cpu-prof`); no JSON line then. */
  only: '',
  /** Exit non-zero when a target (bench/targets.ts) is missed. */
  check: false,
});

async function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.keepAliveTimeout = 65_000;
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stepCost(n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return round(Number(process.hrtime.bigint() - started) / 1e6 / n, 3);
}

async function main(): Promise<void> {
  const prefix = `octo-bench:gateway:${randomBytes(4).toString('hex')}`;
  const databaseUrl = await recreateDatabase(args.database);
  const config = loadGatewayConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: BENCH_REDIS_URL,
    QUEUE_PREFIX: prefix,
    JWT_SECRET: 'bench-jwt-secret-0123456789abcdef',
    SECRETS_KEY: 'bench-secrets-key',
    // The per-integration limit protects the queue from a looping sender; here it would only
    // measure how fast 429s are written.
    WEBHOOK_RATE_LIMIT: String(1_000_000_000),
    LOG_LEVEL: 'info',
  });
  const log = createLogger({ level: config.logLevel, name: 'gateway-bench', destination: pino.destination({ dest: '/dev/null', sync: false }) });
  const db: Db = createDb({ databaseUrl, secretsKey: config.secretsKey, poolSize: config.dbPoolSize });
  const redis = createRedis(config.redisUrl, 'producer');
  const subscriber = createRedis(config.redisUrl, 'producer');
  const producer = new JobProducer({ connection: redis, prefix });
  const servers: Server[] = [];
  try {
    const { integration, webhookSecret } = await db.integrations.create({
      partnerId: 'bench-partner',
      baseUrl: 'https://octo.example-partner.com/api',
      authType: 'bearer',
      authKey: 'bench-supplier-key',
      handlesTicketDelivery: false,
      isApproved: true,
    });
    // One gateway: any constant receive tag is unique (main.ts leases one from Redis).
    const gateway = await listen(buildApp({ config, db, producer, redis, subscriber, receiveTag: () => 0, log }));
    const bareApp = express();
    bareApp.disable('x-powered-by');
    bareApp.disable('etag');
    bareApp.post('/bare', (_req, res) => {
      res.status(200).json({ ok: true });
    });
    const bare = await listen(bareApp);
    servers.push(gateway.server, bare.server);

    const triggerUrl = `${gateway.url}/api/v1/partner-integrations/${integration.id}/sync/trigger`;
    const key = Buffer.from(webhookSecret, 'hex');
    const signedHeaders = (secretKey: Buffer) => {
      const ts = String(Math.floor(Date.now() / 1000));
      return { 'webhook-id': 'msg_bench', 'webhook-timestamp': ts, 'webhook-signature': signDelivery(secretKey, 'msg_bench', ts, Buffer.alloc(0)) };
    };
    const scenarios = {
      bare: { url: `${bare.url}/bare`, method: 'POST' as const, headers: {} },
      triggerAsync: { url: triggerUrl, method: 'POST' as const, headers: { 'x-webhook-secret': webhookSecret, prefer: 'respond-async' } },
      rejected: { url: triggerUrl, method: 'POST' as const, headers: { 'x-webhook-secret': 'f'.repeat(64), prefer: 'respond-async' } },
      // One signed delivery sent again and again: after the first, each call is verified and answered from the replay store.
      signed: { url: triggerUrl, method: 'POST' as const, headers: { ...signedHeaders(key), prefer: 'respond-async' } },
    };
    const results: Record<string, LoadResult> = {};
    const only = args.only === '' ? undefined : new Set(args.only.split(','));
    for (const [name, s] of Object.entries(scenarios)) {
      if (only && !only.has(name)) continue;
      note(`${name}: warm-up ${args.warmup} s, then ${args.duration} s at ${args.connections} connections`);
      await runLoad({ ...s, connections: args.connections, durationS: args.warmup });
      const r = await runLoad({ ...s, connections: args.connections, durationS: args.duration });
      note(`${name}: ${r.perSecond}/s, p50 ${r.latencyP50Ms} ms, p99 ${r.latencyP99Ms} ms, statuses ${JSON.stringify(r.statuses)}`);
      results[name] = r;
    }
    if (only) return;

    // Where a webhook answer's time goes, one call at a time (no concurrency).
    note('step costs');
    const authCache = new WebhookAuthCache(db.webhookSecrets, { ttlMs: config.webhookAuthCacheMs });
    const limiter = new FixedWindowLimiter(redis, (key) => `${prefix}:bench-rate:${key}`, 1_000_000_000, 60_000);
    const steps = {
      // The uncached check: load the credentials, then the store's rule (what the gateway does on a cache miss).
      lookupAndSecretCheckMs: await stepCost(args.steps, async () =>
        db.webhookSecrets.check(await db.webhookSecrets.credentials(integration.id), { kind: 'secret', presented: webhookSecret }),
      ),
      requestRunMs: await stepCost(args.steps, () => db.runs.requestRun(integration.id, 'webhook')),
      // The lock-free join the coalescer tries first (a run is queued here, as in the load phase).
      findQueuedRunMs: await stepCost(args.steps, () => db.runs.findQueuedRun(integration.id)),
      enqueueMs: await stepCost(args.steps, async () => {
        const { runId } = await db.runs.requestRun(integration.id, 'webhook');
        return producer.enqueue(catalogSyncJob, { integrationId: integration.id, runId });
      }),
      // What the webhook path does now: the cached check (config.webhookAuthCacheMs) and the Lua rate-limit hit.
      cachedSecretCheckMs: await stepCost(args.steps, () => authCache.verify(integration.id, { kind: 'secret', presented: webhookSecret })),
      rateLimitMs: await stepCost(args.steps, () => limiter.take(integration.id, 1)),
      ...(await verificationTimings(args.steps * 20, authCache, integration.id, key, webhookSecret)),
    };
    const enqueueOnly = round(steps.enqueueMs - steps.requestRunMs, 3);

    const bareRps = results.bare!.perSecond;
    const ratios = {
      triggerAsyncVsBare: round(results.triggerAsync!.perSecond / bareRps, 3),
      rejectedVsBare: round(results.rejected!.perSecond / bareRps, 3),
      signedVsHeader: round(results.signed!.perSecond / results.triggerAsync!.perSecond, 3),
      wrongSignatureVsWrongSecret: round(steps.wrongSignatureUs / steps.wrongSecretUs, 3),
    };
    const verdict = judge('gateway', ratios);
    const result = {
      bench: 'gateway',
      connections: args.connections,
      durationS: args.duration,
      answersPerSecond: { bare: bareRps, triggerAsync: results.triggerAsync!.perSecond, rejected: results.rejected!.perSecond, signed: results.signed!.perSecond },
      latencyMs: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, { p50: r.latencyP50Ms, p99: r.latencyP99Ms }])),
      statuses: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.statuses])),
      errors: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.errors])),
      stepCostMs: { ...steps, enqueueMs: enqueueOnly },
      ratios,
      targets: verdict.met,
      missed: verdict.missed,
    };
    printResult(result, verdict, args.check);
  } finally {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await producer.queue('catalog').obliterate({ force: true });
    await producer.close();
    redis.disconnect();
    subscriber.disconnect();
    await db.close();
    await clearPrefix(prefix);
    if (!args.keep) await dropBenchDatabase(args.database);
  }
}

/**
 * The cached verification path, one call at a time, in microseconds: a right-length wrong secret
 * in the header, a wrong signature (right length, wrong bytes), and the right signature.
 */
async function verificationTimings(n: number, cache: WebhookAuthCache, id: string, key: Buffer, secret: string) {
  const ts = String(Math.floor(Date.now() / 1000));
  const read = (signature: string) => {
    const headers: Record<string, string> = { 'webhook-id': 'msg_t', 'webhook-timestamp': ts, 'webhook-signature': signature };
    const parsed = readSignatureHeaders((name) => headers[name], Number(ts));
    if (parsed.kind !== 'signed') throw new Error('bench delivery is not signed');
    return parsed.delivery;
  };
  const right = read(signDelivery(key, 'msg_t', ts, Buffer.alloc(0)));
  const wrong = read(signDelivery(Buffer.alloc(32, 9), 'msg_t', ts, Buffer.alloc(0)));
  const body = Buffer.alloc(0);
  const us = async (fn: () => Promise<unknown>) => round((await stepCost(n, fn)) * 1000, 3);
  return {
    wrongSecretUs: await us(() => cache.verify(id, { kind: 'secret', presented: `${secret.slice(0, 63)}${secret.endsWith('0') ? '1' : '0'}` })),
    wrongSignatureUs: await us(() => cache.verify(id, { kind: 'signature', matches: (keys) => signatureMatches(wrong, body, keys) })),
    rightSignatureUs: await us(() => cache.verify(id, { kind: 'signature', matches: (keys) => signatureMatches(right, body, keys) })),
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:gateway failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

import { tracing } from './instrument';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { checkPoolBudget, createDb, whenPostgresAnswers, type Db, type PostgresWait } from '@octo-sync/db';
import { closeRedis, createRedis, JobProducer, ReceiveTagLease, RedisReachability } from '@octo-sync/jobs';
import { ConfigError, createLogger, exitOnSignalDuringStartUp, installShutdown, type Logger } from '@octo-sync/platform';
import { buildApp } from './app';
import { loadGatewayConfig, type GatewayConfig } from './config';
import { createMetrics } from './metrics';

/** The database, its pool budget checked once Postgres answers (it may be down at start-up). */
async function openDatabase(config: GatewayConfig, log: Logger): Promise<{ db: Db; poolCheck: PostgresWait }> {
  const db = createDb({ databaseUrl: config.databaseUrl, secretsKey: config.secretsKey, poolSize: config.dbPoolSize, log });
  const poolCheck = whenPostgresAnswers(db.pool, config.databaseUrl, log, () => checkPoolBudget(db.pool, { poolSize: config.dbPoolSize, maxShare: config.dbPoolMaxShare }, log));
  await poolCheck.firstAttempt;
  return { db, poolCheck };
}

/** The gateway process: the only place that reads process.env and creates singletons. */
async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`gateway: ${err.message}\n`);
    process.exit(1);
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat, name: 'gateway' });
  // Start-up may wait for Redis or Postgres; nothing is accepted yet, so a signal meanwhile just exits.
  const started = exitOnSignalDuringStartUp(log);
  for (const variable of config.devDefaults) {
    log.warn({ variable }, `${variable} is not set: using the built-in DEVELOPMENT value. Anyone can ${variable === 'JWT_SECRET' ? 'mint tokens' : 'decrypt stored supplier keys'}. Set it before exposing this gateway.`);
  }
  if (config.allowInsecureOctoUrls) log.warn('ALLOW_INSECURE_OCTO_URLS=true: plain-http supplier base URLs are accepted');

  const { db, poolCheck } = await openDatabase(config, log);
  const redis = createRedis({ url: config.redisUrl, clusterNodes: config.redisClusterNodes }, 'producer');
  // Connection errors are logged once per outage; the HTTP routes answer 503 meanwhile.
  const reachability = new RedisReachability(redis, { url: config.redisUrl, clusterNodes: config.redisClusterNodes }, log, config.redisDownReminderMs);
  const producer = new JobProducer({ connection: redis, prefix: config.queuePrefix, onError: reachability.report, telemetry: tracing.queueTelemetry });
  // Its own connection: the gateways tell each other of webhook credential changes (pub/sub).
  const subscriber = createRedis({ url: config.redisUrl, clusterNodes: config.redisClusterNodes }, 'producer');
  subscriber.on('error', (err: Error) => reachability.report(err, 'redis subscriber connection error'));
  // The tag that makes this gateway's receive keys unique; start-up waits for the first try only (Redis may be down).
  const receiveTags = new ReceiveTagLease(redis, config.queuePrefix, log);
  await receiveTags.firstAttempt;
  const app = buildApp({ config, db, producer, redis, subscriber, receiveTag: () => receiveTags.tag(), log, metrics: createMetrics({ defaultMetrics: true }) });

  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  // Slightly longer than typical load-balancer idle timeouts, so they close first.
  server.keepAliveTimeout = 65_000;
  const { address, port } = server.address() as AddressInfo;
  log.info({ host: address, port }, 'gateway started');

  started();
  installShutdown(log, config.shutdownTimeoutMs, [
    {
      name: 'http server',
      run: () =>
        new Promise<void>((resolve, reject) => {
          server.close((err) => (err ? reject(err) : resolve()));
          server.closeIdleConnections();
        }),
    },
    { name: 'producer', run: () => producer.close() },
    { name: 'receive tag', run: () => receiveTags.release() },
    {
      name: 'redis',
      run: () => {
        reachability.stop();
        return Promise.all([closeRedis(redis), closeRedis(subscriber)]).then(() => undefined);
      },
    },
    { name: 'pool budget check', run: async () => poolCheck.stop() },
    { name: 'database', run: () => db.close() },
    // Last: it sends the spans of everything stopped before it.
    { name: 'tracing', run: (remainingMs) => tracing.shutdown(log, remainingMs) },
  ]);
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

import { createLogger, installShutdown } from '@octo-sync/platform';
import { loadWorkerConfig } from './config';
import { createWorkerMetrics } from './metrics';
import { startWorkerRuntime } from './runtime';

async function main(): Promise<void> {
  const config = loadWorkerConfig(process.env);
  const log = createLogger({ name: 'worker', level: config.logLevel, format: config.logFormat });
  if (config.usingDevSecretsKey) log.warn('SECRETS_KEY is the development default: set it before storing real supplier credentials');
  const runtime = await startWorkerRuntime(config, log, createWorkerMetrics({ defaultMetrics: true }));
  installShutdown(log, config.shutdownTimeoutMs, [{ name: 'worker', run: () => runtime.close() }]);
  log.info(
    {
      pid: process.pid,
      concurrency: config.sync.concurrency,
      maxInflightBytes: config.sync.maxInflightBytes,
      queues: runtime.workers.map((w) => w.name),
      schedules: config.schedules.enabled ? { nightly: config.schedules.nightlyCron, tz: config.schedules.nightlyTz, health: config.schedules.healthCron } : 'not registered by this process',
    },
    'worker started',
  );
}

main().catch((err: unknown) => {
  // Config errors name every bad variable; anything else is a start-up failure worth a stack.
  process.stderr.write(`worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

import { tracing } from './instrument';
import { createLogger, installShutdown } from '@octo-sync/platform';
import { loadWorkerConfig } from './config';
import { createWorkerMetrics } from './metrics';
import { StartAbandonedError, startWorkerRuntime, type WorkerRuntime } from './runtime';

/** The runtime once started, or undefined when a signal stopped the process before it started. */
async function whenStarted(starting: Promise<WorkerRuntime>): Promise<WorkerRuntime | undefined> {
  try {
    return await starting;
  } catch (err) {
    if (err instanceof StartAbandonedError) return undefined;
    throw err;
  }
}

async function main(): Promise<void> {
  const config = loadWorkerConfig(process.env);
  const log = createLogger({ name: 'worker', level: config.logLevel, format: config.logFormat });
  if (config.usingDevSecretsKey) log.warn('SECRETS_KEY is the development default: set it before storing real supplier credentials');
  // A signal while the workers still wait for Redis gives the start up rather than waiting for it.
  const abandon = new AbortController();
  const starting = startWorkerRuntime(config, log, createWorkerMetrics({ defaultMetrics: true }), { signal: abandon.signal, queueTelemetry: tracing.queueTelemetry });
  const stop = async () => {
    abandon.abort();
    await (await whenStarted(starting))?.close();
  };
  // Tracing last: it sends the spans of everything stopped before it.
  installShutdown(log, config.shutdownTimeoutMs, [
    { name: 'worker', run: stop },
    { name: 'tracing', run: (remainingMs) => tracing.shutdown(log, remainingMs) },
  ]);
  const runtime = await whenStarted(starting);
  if (runtime === undefined) return;
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

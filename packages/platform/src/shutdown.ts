import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

/**
 * Stops the process cleanly on SIGINT/SIGTERM: runs the steps in order (stop intake first, then
 * drain, then close connections), and exits non-zero if they take longer than `timeoutMs`.
 * A second signal exits at once.
 */
export function installShutdown(log: Logger, timeoutMs: number, steps: readonly ShutdownStep[]): () => Promise<void> {
  let stopping: Promise<void> | undefined;

  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      const timer = setTimeout(() => {
        log.error({ timeoutMs }, 'shutdown timed out, exiting');
        process.exit(1);
      }, timeoutMs);
      timer.unref();
      let failed = false;
      for (const step of steps) {
        try {
          await step.run();
          log.debug({ step: step.name }, 'shutdown step done');
        } catch (err) {
          failed = true;
          log.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
      log.info('stopped');
      process.exitCode = failed ? 1 : 0;
    })();
    return stopping;
  };

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) {
        log.warn({ signal }, 'second signal, exiting now');
        process.exit(1);
      }
      log.info({ signal }, 'shutting down');
      void shutdown();
    });
  }
  return shutdown;
}

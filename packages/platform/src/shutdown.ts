import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

/**
 * Stops the process cleanly on SIGINT/SIGTERM: runs the steps in order (stop intake first, then
 * drain, then close connections), and exits non-zero if they take longer than `timeoutMs`.
 * A second signal exits at once.
 *
 * The process is gone `timeoutMs` after the first signal whatever is down: if the steps finish
 * but something they could not close still holds the event loop (a client reconnecting to a
 * server that is not there), it exits then with the steps' exit code, saying so.
 */
export function installShutdown(log: Logger, timeoutMs: number, steps: readonly ShutdownStep[]): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  let stopped = false;

  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      // Unref'd: it never keeps the process alive by itself, and it stays armed after the steps.
      const deadline = setTimeout(() => {
        if (stopped) log.warn({ timeoutMs }, 'still running after stop (a connection kept the process alive): exiting');
        else log.error({ timeoutMs }, 'shutdown timed out, exiting');
        process.exit(stopped ? process.exitCode : 1);
      }, timeoutMs);
      deadline.unref();
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
      stopped = true;
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

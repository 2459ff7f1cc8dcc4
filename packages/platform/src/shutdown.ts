import type { Logger } from 'pino';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Until the returned function is called, SIGINT or SIGTERM ends the process at once (exit code 0,
 * `stopped during start-up`): a process that has accepted no work yet may be waiting on a
 * dependency that is down, and a signal then must neither wait for it nor be left to the default
 * action. Call the returned function right before {@link installShutdown}.
 */
export function exitOnSignalDuringStartUp(log: Logger): () => void {
  const exit = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopped during start-up');
    process.exit(0);
  };
  for (const signal of SIGNALS) process.on(signal, exit);
  return () => {
    for (const signal of SIGNALS) process.off(signal, exit);
  };
}

export interface ShutdownStep {
  name: string;
  /** Given the milliseconds left before the stop times out, for a step that can bound itself. */
  run: (remainingMs: number) => Promise<unknown>;
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
      const deadlineAt = Date.now() + timeoutMs;
      let failed = false;
      for (const step of steps) {
        try {
          await step.run(deadlineAt - Date.now());
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

  for (const signal of SIGNALS) {
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

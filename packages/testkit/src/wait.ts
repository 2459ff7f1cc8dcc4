import { inspect } from 'node:util';
import type { Db, SyncRun } from '@octo-sync/db';

/**
 * Waits until `check` returns a value other than undefined/false, re-checking every `intervalMs`,
 * and fails with `what` after `timeoutMs`. For conditions that have no event to listen to (rows in
 * Postgres, a process's state); it is not a sleep: it returns as soon as the condition holds.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${inspect(lastError)})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until sync run `runId` is finished (succeeded, skipped or failed) and returns it. */
export function waitForFinishedRun(db: Db, runId: string, what = 'the run to finish'): Promise<SyncRun> {
  return waitFor(
    what,
    async () => {
      const run = await db.runs.findRun(runId);
      return run && run.status !== 'running' && run.status !== 'queued' ? run : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

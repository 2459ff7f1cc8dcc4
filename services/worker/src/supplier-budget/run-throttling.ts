import { DelayedError } from 'bullmq';
import type { Db, SyncRun } from '@octo-sync/db';
import type { JobContext } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';
import { BudgetedCalls, ThrottleYield, type BudgetDeps } from './budgeted-supplier';

/** A claimed run, as its throttling needs it. */
interface ThrottledAttempt {
  run: Pick<SyncRun, 'id' | 'integrationId' | 'kind' | 'pullScope' | 'throttledMs'>;
  fence: bigint;
  log: Logger;
}

/** A run's supplier calls: they wait for the budget, in the worker slot up to `THROTTLE_INLINE_WAIT_MS`, else by delaying the job. */
export function runCalls(deps: BudgetDeps, integration: ConstructorParameters<typeof BudgetedCalls>[1], attempt: ThrottledAttempt, signal: AbortSignal | undefined): BudgetedCalls {
  return new BudgetedCalls(deps, integration, { onLongWait: 'yield', waitWhenSlowed: true }, signal, attempt.run.throttledMs);
}

/**
 * When `thrown` says the run must wait for its supplier longer than a worker slot is held: the run
 * goes back to `queued` (no attempt spent) and its job is delayed until the supplier's resume time.
 * Anything else is left to the caller.
 */
export async function delayIfThrottled(db: Db, attempt: ThrottledAttempt, calls: BudgetedCalls, thrown: unknown, ctx: JobContext): Promise<void> {
  if (!(thrown instanceof ThrottleYield)) return;
  await db.runs.yieldThrottled(attempt.run, attempt.fence, calls.throttledMs);
  attempt.log.info({ resumeAt: new Date(thrown.resumeAt).toISOString(), throttledMs: calls.throttledMs }, 'supplier throttled: run delayed until its resume time');
  await ctx.job.moveToDelayed(thrown.resumeAt, ctx.token);
  throw new DelayedError();
}

/** Records the run's throttled time once it ended (succeeded or failed), when its calls waited at all. */
export async function recordThrottled(db: Db, attempt: ThrottledAttempt, calls: BudgetedCalls): Promise<void> {
  if (calls.throttledMs !== attempt.run.throttledMs) await db.runs.recordThrottled(attempt.run.id, calls.throttledMs);
}

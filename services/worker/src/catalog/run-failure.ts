import { UnrecoverableError } from 'bullmq';
import type { Db, RunFailure, SyncRun } from '@octo-sync/db';
import type { JobContext } from '@octo-sync/jobs';
import { AppError, type Logger } from '@octo-sync/platform';

/** The attempt of a claimed run that failed. */
export interface FailedAttempt {
  run: SyncRun;
  fence: bigint;
  log: Logger;
  /** Recorded when the body was fetched before the failure. */
  payloadBytes?: number;
}

/** Failures that are the catalog's or the partner's, not a passing fault: retrying cannot help. */
const PERMANENT_CODES = new Set(['MASS_REMOVAL_BLOCKED', 'INTEGRATION_INACTIVE', 'INTEGRATION_NOT_APPROVED', 'INTEGRATION_DOWN', 'SUPPLIER_DRIFT']);

function isRetryable(error: Error): boolean {
  if (error instanceof AppError) {
    if (PERMANENT_CODES.has(error.code)) return false;
    const retryable = (error as { retryable?: unknown }).retryable;
    if (typeof retryable === 'boolean') return retryable;
    return !error.code.startsWith('CATALOG_');
  }
  // Not one of ours (Postgres went away, a bug): let the queue try again.
  return true;
}

/** What the sync-log says about a failure: our errors speak for themselves, anything else stays internal. */
function describe(error: Error): { code: string; message: string } {
  if (error instanceof AppError) {
    const details = error.details.length > 0 ? `: ${error.details.slice(0, 10).join('; ')}` : '';
    return { code: error.code, message: `${error.message}${details}` };
  }
  return { code: 'INTERNAL', message: 'internal error while syncing; it will be retried' };
}

/** What {@link failAttempt} decided: what the job throws, whether the run ended, and what was recorded. */
export interface AttemptFailed {
  error: Error;
  /** No attempt is left: the run failed for good. */
  final: boolean;
  /** What the sync-log says; absent when nothing was recorded (a stale attempt). */
  failure?: RunFailure;
}

/** Records a failed attempt; returns what the job throws (retried unless permanent) and whether the run ended with it. */
export async function failAttempt(db: Db, attempt: FailedAttempt, error: Error, ctx: JobContext): Promise<AttemptFailed> {
  const { log, payloadBytes } = attempt;
  if (error instanceof AppError && error.code === 'STALE_RUN') {
    // A newer attempt of this run owns the integration now; this one must not touch anything.
    log.warn('run lost its fence to a newer attempt; stopping');
    return { error: new UnrecoverableError(error.message), final: false };
  }
  const retryable = isRetryable(error);
  const final = !retryable || ctx.job.attemptsMade + 1 >= (ctx.job.opts.attempts ?? 1);
  const failure: RunFailure = { ...describe(error), final, ...(payloadBytes === undefined ? {} : { payloadBytes }) };
  await db.runs.fail(attempt.run, attempt.fence, failure);
  log[retryable && !final ? 'warn' : 'error']({ code: failure.code, final, err: error instanceof AppError ? undefined : error }, 'sync run failed');
  return { error: retryable ? error : new UnrecoverableError(failure.message), final, failure };
}

import { DelayedError } from 'bullmq';
import type { Db } from '@octo-sync/db';
import type { JobHandler } from '@octo-sync/jobs';

export interface SlowLaneSettings {
  /** A run that took longer than this makes its integration slow until a faster run. */
  slowRunMs: number;
  /** Slow runs this worker process lets run at once. */
  slots: number;
  /** How long a slow run that found the budget full waits before it looks again. */
  retryMs: number;
}

/** Failures that mean a run sat on a slot until a deadline: the integration counts as slow. */
const SLOW_FAILURES = new Set(['SUPPLIER_TIMEOUT']);

/**
 * Whether the integration's most recent run that got anywhere (finished, or failed an attempt)
 * was slow: longer than `slowRunMs`, or cut off by a timeout or a stalled body.
 */
async function wasSlow(db: Db, integrationId: string, slowRunMs: number): Promise<boolean> {
  const last = await db.runs.lastSettledRun(integrationId, 5);
  if (last === null) return false;
  return (last.errorCode !== null && SLOW_FAILURES.has(last.errorCode)) || (last.durationMs ?? 0) > slowRunMs;
}

/**
 * Keeps suppliers whose recent runs were slow (slowloris, huge or stalling catalogs) from taking
 * every sync slot of this worker: at most `slots` slow runs at once; a slow run that finds the
 * budget full goes back to the queue for `retryMs` without spending an attempt, as a run waiting
 * for its integration's running run does. A budget in the process rather than a separate BullMQ
 * queue because slowness is only known when the job is taken (from the integration's last run),
 * and a per-process counter is exactly "slots of this worker" without a second queue, consumer
 * and job contract to keep in step.
 */
export function withSlowLane<P extends { integrationId: string }>(handler: JobHandler<P>, db: Db, settings: SlowLaneSettings): JobHandler<P> {
  let running = 0;
  return async (payload, ctx) => {
    if (!(await wasSlow(db, payload.integrationId, settings.slowRunMs))) return handler(payload, ctx);
    if (running >= settings.slots) {
      ctx.log.debug({ integrationId: payload.integrationId, slowRunning: running }, 'slow-run budget full, run postponed');
      await ctx.job.moveToDelayed(Date.now() + settings.retryMs, ctx.token);
      throw new DelayedError();
    }
    running++;
    try {
      return await handler(payload, ctx);
    } finally {
      running--;
    }
  };
}

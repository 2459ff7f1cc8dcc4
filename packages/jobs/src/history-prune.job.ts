import { z } from 'zod';
import { defineJob } from './contract';

/**
 * The retention of run history, alert deliveries and the audit trail: one job per tick of the
 * `history-prune` Job Scheduler, which deletes rows past their retention in bounded batches.
 * Safe to retry or to run twice.
 */
export const historyPruneJob = defineJob({
  queue: 'schedules',
  name: 'history.prune',
  payload: z.object({}),
  options: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 10_000 },
    removeOnComplete: { age: 24 * 3600, count: 100 },
    removeOnFail: { age: 7 * 24 * 3600, count: 100 },
  },
});

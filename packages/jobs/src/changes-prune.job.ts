import { z } from 'zod';
import { defineJob } from './contract';

/**
 * The change feed's retention: one job per tick of the `change-feed-prune` Job Scheduler, which
 * deletes events older than the retention in bounded batches. Safe to retry or to run twice.
 */
export const changesPruneJob = defineJob({
  queue: 'schedules',
  name: 'changes.prune',
  payload: z.object({}),
  options: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 10_000 },
    removeOnComplete: { age: 24 * 3600, count: 100 },
    removeOnFail: { age: 7 * 24 * 3600, count: 100 },
  },
});

import { z } from 'zod';
import { defineJob, type JobContract } from './contract';

/**
 * The contract of a retention job named `name`: one job per tick of its Job Scheduler on the
 * `schedules` queue, no payload, deleting rows past their retention in bounded batches (so safe
 * to retry or to run twice). Each prune job still declares itself in its own file with this.
 */
export function definePruneJob<N extends string>(name: N): JobContract<'schedules', N, z.ZodObject<Record<string, never>>> {
  return defineJob({
    queue: 'schedules',
    name,
    payload: z.object({}),
    options: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 10_000 },
      removeOnComplete: { age: 24 * 3600, count: 100 },
      removeOnFail: { age: 7 * 24 * 3600, count: 100 },
    },
  });
}

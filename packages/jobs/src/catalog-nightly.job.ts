import { z } from 'zod';
import { defineJob } from './contract';

/**
 * The nightly fan-out: one job per scheduler tick (BullMQ Job Scheduler `catalog-nightly`),
 * which requests a `schedule` sync for every eligible integration. The payload is the scheduler's
 * template and identical on every tick; the tick is identified by the job itself (see the worker).
 */
export const catalogNightlyJob = defineJob({
  queue: 'schedules',
  name: 'catalog.nightly',
  payload: z.object({}),
  options: {
    // A retried fan-out is safe (see services/worker/src/schedules/nightly.handler.ts).
    attempts: 3,
    backoff: { type: 'exponential', delay: 10_000 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 1_000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 1_000 },
  },
});

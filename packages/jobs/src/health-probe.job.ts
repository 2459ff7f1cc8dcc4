import { z } from 'zod';
import { defineJob } from './contract';

/**
 * The health fan-out: one job per tick of the `health-probe` Job Scheduler, which enqueues one
 * {@link healthProbeJob} per approved, active, non-deleted integration.
 */
export const healthFanoutJob = defineJob({
  queue: 'schedules',
  name: 'integration.health-fanout',
  payload: z.object({}),
  options: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: { age: 24 * 3600, count: 1_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
  },
});

/**
 * One health probe of one integration for one tick (`tick` = the tick's scheduled time in epoch
 * ms): it only looks and returns what it saw; the fan-out applies a tick's results together. The
 * job id is per integration and tick, so a retried fan-out never probes twice in a tick. One
 * attempt: a failed probe is itself the signal the state machine counts; the next tick retries.
 * (Its former wire name, `integration.health-probe`, applied the state itself: a new name, so a
 * worker of either version never runs the other's job.)
 */
export const healthProbeJob = defineJob({
  queue: 'health',
  name: 'integration.health-check',
  payload: z.object({ integrationId: z.uuid(), tick: z.number().int().min(0) }),
  jobId: (p) => `health-check-${p.integrationId}-${p.tick}`,
  options: {
    attempts: 1,
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  },
});

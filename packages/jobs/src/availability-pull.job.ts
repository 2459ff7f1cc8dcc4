import { z } from 'zod';
import { defineJob, requestIdField } from './contract';

/** The BullMQ job id of a pull run's job. */
export const availabilityPullJobId = (runId: string): string => `pull-${runId}`;

/**
 * One availability pull run (a `sync_runs` row of kind `availability_pull`, created first): the
 * supplier's `POST /availability` for every active option over the integration's window, a
 * tier's days, the product, option and dates a refresh names, or the targets change hints recorded
 * on the run, reconciled with the stored slots.
 */
export const availabilityPullJob = defineJob({
  queue: 'pulls',
  name: 'availability.pull',
  payload: z.object({
    integrationId: z.uuid(),
    runId: z.uuid(),
    productId: z.string().max(255).optional(),
    optionId: z.string().max(255).optional(),
    from: z.iso.date().optional(),
    to: z.iso.date().optional(),
    /** A run made by change hints: pull the targets and windows recorded on the run (hints join it while it is queued). */
    hinted: z.literal(true).optional(),
    /**
     * A tier's window (a scheduled tier pull): days from and to, counted from the local today of
     * each product's time zone, both included. Left out: the dates above, or the whole window.
     */
    days: z.object({ from: z.number().int().min(0).max(366), to: z.number().int().min(0).max(366) }).optional(),
    /** The gateway request that created the run (a refresh): every log line of the job carries it. */
    requestId: requestIdField,
  }),
  jobId: (p) => availabilityPullJobId(p.runId),
  options: {
    attempts: 5,
    backoff: { type: 'supplier', delay: 5_000 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  },
});

/**
 * The pull tick: one job per tick of the `availability-pull` Job Scheduler. It requests a pull of
 * every tier due in the pull schedule.
 */
export const availabilityTickJob = defineJob({
  queue: 'schedules',
  name: 'availability.pull-tick',
  payload: z.object({}),
  options: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: { age: 24 * 3600, count: 1_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
  },
});

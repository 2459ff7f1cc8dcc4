import { definePruneJob } from './prune-job';

/**
 * The slots' partitions: one job per tick of the `availability-partitions` Job Scheduler, which
 * creates the months ahead, detaches and drops the months past the retention (the slots' retention
 * is dropping partitions, never a DELETE) and prunes undated slots in bounded batches. Safe to
 * retry or to run twice: every step is skipped once done.
 */
export const availabilityPartitionsJob = definePruneJob('availability.partitions');

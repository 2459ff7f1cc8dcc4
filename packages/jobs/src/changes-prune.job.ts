import { definePruneJob } from './prune-job';

/**
 * The change feed's retention: one job per tick of the `change-feed-prune` Job Scheduler, which
 * deletes events older than the retention in bounded batches. Safe to retry or to run twice.
 */
export const changesPruneJob = definePruneJob('changes.prune');

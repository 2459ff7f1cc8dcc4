import { definePruneJob } from './prune-job';

/**
 * The retention of run history, alert deliveries and the audit trail: one job per tick of the
 * `history-prune` Job Scheduler, which deletes rows past their retention in bounded batches.
 * Safe to retry or to run twice.
 */
export const historyPruneJob = definePruneJob('history.prune');

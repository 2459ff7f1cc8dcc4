import { catalogSyncJob } from './catalog-sync.job';
import type { JobContract } from './contract';

/**
 * Every queue and the jobs it carries. A worker for a queue must handle every job listed here:
 * `HandlerMap` makes a missing handler a compile error.
 */
export const QUEUES = {
  catalog: [catalogSyncJob],
} as const satisfies Record<string, readonly JobContract[]>;

export type QueueName = keyof typeof QUEUES;
export type JobsOf<Q extends QueueName> = (typeof QUEUES)[Q][number];

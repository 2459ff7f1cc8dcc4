import { alertDeliverJob } from './alert-deliver.job';
import { availabilityApplyJob } from './availability-apply.job';
import { availabilityPullJob, availabilityTickJob } from './availability-pull.job';
import { catalogSyncJob } from './catalog-sync.job';
import { testConnectionJob } from './test-connection.job';
import { catalogNightlyJob } from './catalog-nightly.job';
import { changesPruneJob } from './changes-prune.job';
import { historyPruneJob } from './history-prune.job';
import { availabilityPartitionsJob } from './availability-partitions.job';
import { healthFanoutJob, healthProbeJob } from './health-probe.job';
import type { JobContract } from './contract';

/**
 * Every queue and the jobs it carries. A worker for a queue must handle every job listed here:
 * `HandlerMap` makes a missing handler a compile error.
 */
export const QUEUES = {
  catalog: [catalogSyncJob],
  availability: [availabilityApplyJob],
  probes: [testConnectionJob],
  schedules: [catalogNightlyJob, healthFanoutJob, availabilityTickJob, changesPruneJob, historyPruneJob, availabilityPartitionsJob],
  health: [healthProbeJob],
  pulls: [availabilityPullJob],
  alerts: [alertDeliverJob],
} as const satisfies Record<string, readonly JobContract[]>;

export type QueueName = keyof typeof QUEUES;
export type JobsOf<Q extends QueueName> = (typeof QUEUES)[Q][number];

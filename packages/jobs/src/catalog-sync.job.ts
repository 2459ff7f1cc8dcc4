import { z } from 'zod';
import { defineJob, requestIdField } from './contract';

/** The BullMQ job id of a run's job. */
export const catalogSyncJobId = (runId: string): string => `sync-${runId}`;

/** A catalog sync run. The run row (created first, in Postgres) is the unit of work; the job delivers it. */
export const catalogSyncJob = defineJob({
  queue: 'catalog',
  name: 'catalog.sync',
  payload: z.object({ integrationId: z.uuid(), runId: z.uuid(), requestId: requestIdField }),
  // One job per run: triggers that arrive while a run is queued join that run (see SyncRunStore),
  // so the job id needs no other dedup rule.
  jobId: (p) => catalogSyncJobId(p.runId),
  options: {
    attempts: 5,
    // Our backoff strategy (worker settings) honours the supplier's Retry-After.
    backoff: { type: 'supplier', delay: 5_000 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  },
});

import type { Job, Worker } from 'bullmq';
import type { Db } from '@octo-sync/db';
import type { Logger } from '@octo-sync/platform';
import { z } from 'zod';

/** What a job of the `catalog` and `pulls` queues carries: the run it executes. */
const runPayload = z.object({ runId: z.uuid() });

/**
 * Whether BullMQ failed `job` itself, without our handler: the job stalled more often than
 * `maxStalledCount` allows, so BullMQ marked it to fail at its next pick-up (its deferred failure).
 */
function stalledOut(job: Job): boolean {
  return typeof job.deferredFailure === 'string' && job.deferredFailure !== '';
}

/**
 * On a queue whose jobs execute runs (`catalog`, `pulls`): when BullMQ fails a job that stalled
 * past `maxStalledCount`, no handler records the run's end, so it would stay `running` and hold
 * the integration's single flight for `SYNC_RUN_ABANDON_MS`. Records it abandoned (`RUN_ABANDONED`)
 * instead, so the integration's next run starts at once. Should that write fail, the claim's
 * `SYNC_RUN_ABANDON_MS` rule still closes the run later.
 */
export function abandonStalledRuns(worker: Worker, db: Db, log: Logger): void {
  worker.on('failed', (job) => {
    if (job === undefined || !stalledOut(job)) return;
    const payload = runPayload.safeParse(job.data);
    if (!payload.success) return;
    const fields = { queue: worker.name, jobId: job.id, runId: payload.data.runId };
    db.runs.abandon(payload.data.runId).then(
      (abandoned) => log.warn({ ...fields, abandoned }, 'job stalled more often than allowed; its run is recorded abandoned'),
      (err: unknown) => log.error({ ...fields, err }, 'could not record the run of a stalled-out job as abandoned'),
    );
  });
}

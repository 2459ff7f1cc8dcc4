import { z } from 'zod';
import { catalogSyncJob, catalogSyncJobId } from './catalog-sync.job';
import type { JobProducer } from './producer';

/**
 * How far a running `catalog.sync` got: the worker keeps it as its BullMQ job's progress (in
 * Redis, outside the run's write transaction), the gateway shows it in the sync-log.
 */
export const syncProgressSchema = z.object({
  bytes_received: z.number().int().min(0),
  /** The supplier's declared `Content-Length`; null when it sends none. */
  bytes_expected: z.number().int().min(0).nullable(),
  products_processed: z.number().int().min(0),
  /** Known once the whole body is in. */
  products_total: z.number().int().min(0).nullable(),
});

export type SyncProgress = z.output<typeof syncProgressSchema>;

/** The progress a run's job last reported, or null (not started, finished and gone, or nothing reported yet). */
export async function readSyncProgress(producer: JobProducer, runId: string): Promise<SyncProgress | null> {
  const job = await producer.queue(catalogSyncJob.queue).getJob(catalogSyncJobId(runId));
  const parsed = syncProgressSchema.safeParse(job?.progress);
  return parsed.success ? parsed.data : null;
}

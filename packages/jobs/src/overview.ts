import type { JobProducer } from './producer';
import { QUEUES, type QueueName } from './queues';

export type QueueCounts = Record<'waiting' | 'active' | 'delayed' | 'prioritized' | 'waiting-children' | 'completed' | 'failed', number>;

export interface FailedJobSummary {
  id: string | undefined;
  name: string;
  failedReason: string;
  attemptsMade: number;
  /** When the job last finished (failed), ISO 8601. */
  finishedAt: string | null;
  /** The job's payload: ids and scalars only by contract (never secrets or catalogs). */
  data: unknown;
}

export interface QueueOverview {
  queue: QueueName;
  counts: QueueCounts;
  /** The most recently failed jobs still retained (contracts bound retention with removeOnFail). */
  failed: FailedJobSummary[];
}

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

/**
 * Read-only snapshot of every queue, for an operator endpoint: job counts by state and the last
 * `failedLimit` failed jobs with their failure reason.
 */
export async function queueOverview(producer: JobProducer, failedLimit = 10): Promise<QueueOverview[]> {
  const names = Object.keys(QUEUES) as QueueName[];
  return Promise.all(
    names.map(async (name) => {
      const queue = producer.queue(name);
      const raw = await queue.getJobCounts(...STATES);
      const counts = Object.fromEntries(STATES.map((s) => [s, raw[s] ?? 0])) as QueueCounts;
      const jobs = failedLimit > 0 ? await queue.getFailed(0, failedLimit - 1) : [];
      const failed = jobs
        .filter((j): j is NonNullable<typeof j> => Boolean(j))
        .map((j) => ({
          id: j.id,
          name: j.name,
          failedReason: j.failedReason,
          attemptsMade: j.attemptsMade,
          finishedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
          data: j.data as unknown,
        }));
      return { queue: name, counts, failed };
    }),
  );
}

import { UnrecoverableError, Worker, type BackoffStrategy, type Job, type Telemetry, type WorkerOptions } from 'bullmq';
import type { Logger } from '@octo-sync/platform';
import { requestIdOf, type PayloadOf } from './contract';
import { queueKeyPrefix } from './keyspace';
import { QUEUES, type JobsOf, type QueueName } from './queues';
import type { RedisConnection } from './redis';

export interface JobContext {
  job: Job;
  /** The worker's lock token for this job (needed to move it to delayed, for example). */
  token: string | undefined;
  /** Aborted when the worker is closing or the job is cancelled. */
  signal: AbortSignal | undefined;
  log: Logger;
}

export type JobHandler<P> = (payload: P, ctx: JobContext) => Promise<unknown>;

/** One handler per job of the queue; leaving one out does not compile. */
export type HandlerMap<Q extends QueueName> = { [J in JobsOf<Q> as J['name']]: JobHandler<PayloadOf<J>> };

export interface ConsumerOptions {
  connection: RedisConnection;
  /** `QUEUE_PREFIX`: the queue's own BullMQ prefix is derived from it (see keyspace). */
  prefix: string;
  log: Logger;
  concurrency: number;
  /** How long a job's lock lasts without renewal; a job whose lock lapses is "stalled" and retried. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  backoffStrategy?: BackoffStrategy;
  /** BullMQ's tracing adapter, while tracing is on: each job's process span continues the trace its add began. */
  telemetry?: Telemetry;
}

/**
 * Starts a BullMQ worker for one queue. Each payload is validated again on the way out (a job
 * written by an older or newer producer must not reach a handler malformed); an invalid payload
 * fails the job for good instead of being retried.
 */
export function startConsumer<Q extends QueueName>(queue: Q, handlers: HandlerMap<Q>, options: ConsumerOptions): Worker {
  const contracts = new Map<string, JobsOf<Q>>(QUEUES[queue].map((c) => [c.name, c as JobsOf<Q>]));
  const table = handlers as Record<string, JobHandler<unknown>>;

  const workerOptions: WorkerOptions = {
    connection: options.connection,
    prefix: queueKeyPrefix(options.prefix, queue),
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    // A job that stalls twice in a row (its worker died twice mid-run) is failed rather than
    // bounced between workers forever.
    maxStalledCount: 2,
    telemetry: options.telemetry,
    ...(options.backoffStrategy ? { settings: { backoffStrategy: options.backoffStrategy } } : {}),
  };

  return new Worker(
    queue,
    async (job, token, signal) => {
      const contract = contracts.get(job.name);
      const handler = table[job.name];
      const log = options.log.child({ queue, job: job.name, jobId: job.id, attempt: job.attemptsMade + 1 });
      if (!contract || !handler) throw new UnrecoverableError(`no handler for job ${job.name} on queue ${queue}`);
      const parsed = contract.payload.safeParse(job.data);
      if (!parsed.success) {
        log.error({ issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'invalid job payload');
        throw new UnrecoverableError(`invalid ${job.name} payload`);
      }
      const requestId = requestIdOf(parsed.data);
      return handler(parsed.data, { job, token, signal, log: requestId === undefined ? log : log.child({ reqId: requestId }) });
    },
    workerOptions,
  );
}

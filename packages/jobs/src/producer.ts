import { AsyncResource } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';
import { Queue, QueueEvents, type Job, type JobsOptions, type Telemetry } from 'bullmq';
import { AppError } from '@octo-sync/platform';
import type { JobContract, PayloadOf } from './contract';
import { queueKeyPrefix } from './keyspace';
import type { QueueName } from './queues';
import type { RedisConnection } from './redis';

/** How far back a new event reader starts, to cover its own start-up. */
const EVENT_REPLAY_MS = 5_000;

export type WaitOutcome<R> =
  | { state: 'completed'; value: R }
  | { state: 'failed'; reason: string }
  | { state: 'pending' };

export interface ProducerOptions {
  connection: RedisConnection;
  /** `QUEUE_PREFIX`: each queue's own BullMQ prefix is derived from it (see keyspace). */
  prefix: string;
  /**
   * Hears the `error` events of every queue and event reader this producer opens (a lost
   * connection among them). Without one, BullMQ prints each to stderr.
   */
  onError?: (err: Error, message: string) => void;
  /**
   * BullMQ's tracing adapter (`@octo-sync/telemetry`), while tracing is on: each add is a span and
   * carries its trace context in the job (`opts.telemetry.metadata`) for the worker to continue.
   */
  telemetry?: Telemetry;
}

/**
 * The typed way to put jobs on queues (and, for callers that answer with a result, to wait for
 * one). Payloads are validated against their contract before they reach Redis.
 */
export class JobProducer {
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, QueueEvents>();
  /**
   * The async context the producer was made in. An event reader reads for as long as the process
   * lives, so it starts there rather than in the first waiting caller's context: a tracer would
   * otherwise file every one of its reads under that caller's request.
   */
  private readonly home = new AsyncResource('JobProducer');

  constructor(private readonly options: ProducerOptions) {}

  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.options.connection, prefix: queueKeyPrefix(this.options.prefix, name), telemetry: this.options.telemetry });
      // Every caller waiting on a job adds a listener; hundreds at once is normal for a gateway.
      queue.setMaxListeners(0);
      this.listen(queue, 'queue error');
      this.queues.set(name, queue);
    }
    return queue;
  }

  async enqueue<C extends JobContract>(contract: C, payload: PayloadOf<C>, overrides: JobsOptions = {}): Promise<Job> {
    const { data, opts } = this.jobOf(contract, payload, overrides);
    return this.queue(contract.queue as QueueName).add(contract.name, data, opts);
  }

  /**
   * Many jobs of one contract in one round trip (BullMQ `addBulk`); a job whose id exists is left
   * as it is, as with {@link enqueue}.
   */
  async enqueueMany<C extends JobContract>(contract: C, jobs: ReadonlyArray<{ payload: PayloadOf<C>; overrides?: JobsOptions }>): Promise<Job[]> {
    if (jobs.length === 0) return [];
    const bulk = jobs.map(({ payload, overrides }) => ({ name: contract.name, ...this.jobOf(contract, payload, overrides ?? {}) }));
    return this.queue(contract.queue as QueueName).addBulk(bulk);
  }

  /**
   * Whether the job a payload of `contract` has (by its job id) may still run: true while it waits,
   * is delayed or active, and when there is none (enqueueing it adds it); false once it completed or
   * failed, when enqueueing the same id adds nothing.
   */
  async jobMayRun<C extends JobContract>(contract: C, payload: PayloadOf<C>): Promise<boolean> {
    const { opts } = this.jobOf(contract, payload, {});
    if (opts.jobId === undefined) return true;
    const state = await this.queue(contract.queue as QueueName).getJobState(opts.jobId);
    return state !== 'completed' && state !== 'failed';
  }

  /** A payload checked against its contract, and the job options it gets. */
  private jobOf<C extends JobContract>(contract: C, payload: PayloadOf<C>, overrides: JobsOptions): { data: PayloadOf<C>; opts: JobsOptions } {
    const parsed = contract.payload.safeParse(payload);
    if (!parsed.success) {
      throw new AppError('JOB_PAYLOAD_INVALID', `invalid ${contract.name} payload: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
    const data = parsed.data as PayloadOf<C>;
    const jobId = contract.jobId?.(data);
    return { data, opts: { ...contract.options, ...(jobId === undefined ? {} : { jobId }), ...overrides } };
  }

  /**
   * Runs a delayed job now, for a caller that is waiting for it (a webhook that joined a run the
   * nightly fan-out had spread into the future). Does nothing in any other state.
   */
  async promoteIfDelayed(job: Job): Promise<void> {
    const current = await this.queue(job.queueName as QueueName).getJob(job.id ?? '');
    if (!current || !(await current.isDelayed())) return;
    try {
      await current.promote();
    } catch (err) {
      // It left the delayed set between our two calls (a worker took it): nothing to do.
      if (await current.isDelayed()) throw err;
    }
  }

  /**
   * Waits up to `timeoutMs` for a job to finish. Never throws for a job that is merely slow or
   * failed: the caller decides how to answer each outcome.
   *
   * Not BullMQ's `job.waitUntilFinished`: it checks whether the job already finished inside an
   * async Promise executor, so when Redis refuses that check (a cluster master failing over) the
   * rejection is unhandled and takes the whole process down.
   */
  async waitFor<R>(job: Job, timeoutMs: number): Promise<WaitOutcome<R>> {
    const name = job.queueName as QueueName;
    // BullMQ types only its queue-wide events; the per-job ones it also emits are named here.
    const events: EventEmitter = await this.queueEvents(name);
    const id = job.id ?? '';
    return new Promise((resolve) => {
      const settle = (outcome: WaitOutcome<R>) => {
        clearTimeout(timer);
        events.off(`completed:${id}`, onCompleted);
        events.off(`failed:${id}`, onFailed);
        resolve(outcome);
      };
      const onCompleted = ({ returnvalue }: { returnvalue: unknown }) => settle({ state: 'completed', value: returnvalue as R });
      const onFailed = ({ failedReason }: { failedReason: string }) => settle({ state: 'failed', reason: failedReason });
      const timer = setTimeout(() => settle({ state: 'pending' }), timeoutMs);
      events.on(`completed:${id}`, onCompleted);
      events.on(`failed:${id}`, onFailed);
      // It may have finished before the listeners were on. When Redis cannot say (it is failing
      // over), the job is still queued: answer that now rather than hold the caller.
      this.finishedOutcome<R>(name, id).then(
        (outcome) => outcome && settle(outcome),
        () => settle({ state: 'pending' }),
      );
    });
  }

  /** The outcome of a job that has already finished, or undefined while it has not. */
  private async finishedOutcome<R>(name: QueueName, id: string): Promise<WaitOutcome<R> | undefined> {
    const queue = this.queue(name);
    const state = await queue.getJobState(id);
    if (state === 'unknown') return { state: 'failed', reason: `job ${id} no longer exists` };
    if (state !== 'completed' && state !== 'failed') return undefined;
    const finished = await queue.getJob(id);
    if (!finished) return { state: 'failed', reason: `job ${id} no longer exists` };
    return state === 'completed' ? { state, value: finished.returnvalue as R } : { state, reason: finished.failedReason };
  }

  private async queueEvents(name: QueueName): Promise<QueueEvents> {
    let events = this.events.get(name);
    if (!events) {
      // Read the event stream from a little before now rather than from "new events only": a job
      // that finishes while the blocking read is still being set up would otherwise be missed.
      events = this.home.runInAsyncScope(
        () =>
          new QueueEvents(name, {
            connection: this.options.connection,
            prefix: queueKeyPrefix(this.options.prefix, name),
            lastEventId: `${Date.now() - EVENT_REPLAY_MS}-0`,
          }),
      );
      events.setMaxListeners(0);
      this.listen(events, 'queue events error');
      this.events.set(name, events);
      await events.waitUntilReady();
    }
    return events;
  }

  private listen(emitter: Pick<EventEmitter, 'on'>, message: string): void {
    const { onError } = this.options;
    if (onError) emitter.on('error', (err: Error) => onError(err, message));
  }

  async close(): Promise<void> {
    await Promise.all([...this.events.values()].map((e) => e.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

import type { Job } from 'bullmq';
import { syncRefusal, type Db, type RunTrigger, type ScheduledRun, type SyncCandidate } from '@octo-sync/db';
import { catalogSyncJob, type JobProducer } from '@octo-sync/jobs';
import { AppError, KeyedGroupCommit } from '@octo-sync/platform';

/** How one trigger wants its run. */
export interface SyncRequestOptions {
  /** Override the mass-removal guard (admins). */
  force?: boolean;
  /** Join a run that is already running, not only a queued one (a later change is in flight anyway). */
  joinRunning?: boolean;
  /** Start a new run's job no sooner than this (the nightly spread). */
  delayMs?: number;
  /** The nightly tick that asks (recorded on a run it creates). */
  scheduleTick?: Date;
  /** The gateway request that asks: recorded on the run, and carried by a job this request enqueues. */
  requestId?: string;
  /**
   * A targeted refresh: only these products (1 to `TARGETED_PRODUCTS_MAX`), each fetched alone.
   * It joins a queued full sync (which covers it); a queued targeted run takes the union.
   */
  productIds?: readonly string[];
}

/** The run a request got: new or joined, and its job. */
export interface RequestedRun {
  runId: string;
  created: boolean;
  /** The run had started an attempt before (it is waiting to retry). */
  startedBefore: boolean;
  job: Job;
  /** How many concurrent requests shared this run (see {@link SyncRequests}). */
  shared: number;
  /** The first of them (it logs the request for all). */
  first: boolean;
}

interface Pending {
  integrationId: string;
  trigger: RunTrigger;
  options: SyncRequestOptions;
}

/** Run ids whose job this process remembers having enqueued. */
const ENQUEUED_MEMORY = 1_000;

/** Callers of one batch at most (they are all answered with the same run, so this only bounds a batch). */
const BATCH_MAX = 10_000;

/**
 * The one way to start a catalog sync, for every trigger (webhook, admin, approval, schedule,
 * health recovery, availability fallback). It applies the eligibility rule ({@link syncRefusal}),
 * records the run (a request while a run is queued joins it, so a trigger during a run yields one
 * follow-up run), enqueues its job (one job per run), and starts a run the nightly spread delayed
 * when someone else asks for it.
 *
 * Requests for one (integration, trigger, options) that arrive while one is being recorded wait
 * for it and share the next: a {@link KeyedGroupCommit} starts a batch only with callers that had
 * already arrived, so the run a batch gets was created, or found still queued, after every one of
 * its callers arrived, and its fetch sees every caller's change. Under a burst of triggers N
 * transactions on the integration's advisory lock become about one per round trip.
 */
export class SyncRequests {
  private readonly batches = new KeyedGroupCommit<Pending, RequestedRun>((_key, callers) => this.record(callers), BATCH_MAX);
  /** Jobs this process enqueued, by run id: joining such a run needs no second enqueue. */
  private readonly enqueued = new Map<string, Job>();

  constructor(
    private readonly db: Db,
    private readonly producer: JobProducer,
  ) {}

  /**
   * Requests a sync of `integration` (its row, or the fields the rule reads) for `trigger`.
   * Throws an AppError with the refusal's code when the rule says no.
   */
  async request(integration: SyncCandidate & { id: string }, trigger: RunTrigger, options: SyncRequestOptions = {}): Promise<RequestedRun> {
    const refusal = syncRefusal(integration, trigger);
    if (refusal) throw new AppError(refusal.code, refusal.message, { expected: true });
    // Only requests with the same arguments share a run request (a forced one is never lost); the
    // request id is not an argument: every caller's id is recorded on the run they share.
    const scope = [...new Set(options.productIds ?? [])].sort();
    const key = JSON.stringify([integration.id, trigger, options.force ?? false, options.joinRunning ?? false, options.delayMs ?? 0, options.scheduleTick?.getTime() ?? null, scope]);
    const [requested] = await this.batches.submit(key, [{ integrationId: integration.id, trigger, options }]);
    return requested!;
  }

  /**
   * The nightly fan-out for one batch of integrations (those the rule refuses are left out): their
   * `schedule` runs recorded set-based (see `ScheduledRunStore`) and their jobs enqueued in one
   * round trip, a new run's start delayed by `delayOf(integrationId)`. A run already requested
   * since `tick` is enqueued again only while it is queued (a no-op when its job exists, a repair
   * when an interrupted attempt never enqueued it); a run queued from before the tick is joined.
   */
  async requestScheduled(integrations: ReadonlyArray<SyncCandidate & { id: string }>, tick: Date, delayOf: (integrationId: string) => number): Promise<ScheduledRun[]> {
    const ids = integrations.filter((i) => syncRefusal(i, 'schedule') === undefined).map((i) => i.id);
    const runs = await this.db.scheduledRuns.request(ids, tick);
    const jobs = runs
      .filter((run) => run.queued)
      .map(({ integrationId, runId, outcome }) => ({ payload: { integrationId, runId }, overrides: { delay: outcome === 'joined' ? 0 : delayOf(integrationId) } }));
    await this.producer.enqueueMany(catalogSyncJob, jobs);
    return runs;
  }

  /**
   * Enqueues the job of a run already recorded (again): a no-op when the job exists (its id is the
   * run id), a repair when an earlier enqueue was lost.
   */
  async enqueue(integrationId: string, runId: string, delayMs = 0, requestId?: string): Promise<Job> {
    const payload = { integrationId, runId, ...(requestId === undefined ? {} : { requestId }) };
    const job = await this.producer.enqueue(catalogSyncJob, payload, delayMs > 0 ? { delay: delayMs } : {});
    this.enqueued.set(runId, job);
    if (this.enqueued.size > ENQUEUED_MEMORY) this.enqueued.delete(this.enqueued.keys().next().value as string);
    return job;
  }

  /** One record + enqueue for `callers`, requests that share their arguments. */
  private async record(callers: readonly Pending[]): Promise<RequestedRun[]> {
    const { integrationId, trigger, options } = callers[0]!;
    const force = options.force ?? false;
    const requestIds = callers.flatMap((c) => (c.options.requestId === undefined ? [] : [c.options.requestId]));
    // Fast path: a queued full run to join (and no force to record on it) needs no lock; a queued
    // targeted run may need widening, which the locked path does.
    const queued = options.joinRunning ? null : await this.db.runs.findQueuedRun(integrationId);
    const fastJoin = queued !== null && !queued.targeted && (queued.force || !force);
    if (fastJoin) await this.db.runs.addRequestIds(queued.runId, requestIds);
    const joined = fastJoin
      ? { ...queued, created: false }
      : await this.db.runs.requestRun(integrationId, trigger, {
          force,
          joinRunning: options.joinRunning ?? false,
          requestIds,
          productIds: [...new Set(options.productIds ?? [])],
          ...(options.scheduleTick ? { scheduleTick: options.scheduleTick } : {}),
        });
    const { runId, created, startedBefore } = joined;
    const job = (!created && this.enqueued.get(runId)) || (await this.enqueue(integrationId, runId, created ? (options.delayMs ?? 0) : 0, requestIds[0]));
    // A run the nightly fan-out spread into the future starts now that someone else asks for it.
    // Only those are delayed on purpose: one waiting to retry keeps its backoff (it may honour a
    // supplier's Retry-After).
    if (!created && !startedBefore && joined.trigger === 'schedule' && trigger !== 'schedule') await this.producer.promoteIfDelayed(job);
    return callers.map((_, i) => ({ runId, created, startedBefore, job, shared: callers.length, first: i === 0 }));
  }
}

import type { Job } from 'bullmq';
import { syncRefusal, type Db, type RunTrigger, type SyncCandidate } from '@octo-sync/db';
import { availabilityPullJob, type JobProducer } from '@octo-sync/jobs';
import { AppError } from '@octo-sync/platform';

/** What a refresh may narrow a pull to; left out, the integration's whole window. */
export interface PullScope {
  productId?: string;
  optionId?: string;
  /** Local dates, `YYYY-MM-DD`. */
  from?: string;
  to?: string;
}

/** A narrowed scope as one short canonical key (stored on its run); undefined for the whole window. */
function scopeKey({ productId, optionId, from, to }: PullScope): string | undefined {
  if ([productId, optionId, from, to].every((value) => value === undefined)) return undefined;
  return JSON.stringify([productId ?? null, optionId ?? null, from ?? null, to ?? null]);
}

/** The pull run a request got: new or joined, and its job. */
export interface RequestedPull {
  runId: string;
  created: boolean;
  job: Job;
}

/**
 * The one way to start an availability pull (the schedule's tick, a refresh). It applies the
 * eligibility rule of syncs, records the run (kind `availability_pull`: a request while one is
 * queued joins it when that pull covers it, a whole one or one narrowed to exactly the same scope) and enqueues its job (one job per run). Pull runs and catalog runs of one
 * integration share the claim, so they never run at once.
 */
export class PullRequests {
  constructor(
    private readonly db: Db,
    private readonly producer: JobProducer,
  ) {}

  /**
   * Throws an AppError with the refusal's code when the integration may not sync. `requestId`: the
   * gateway request that asks, recorded on the run (new or joined) and carried by a job it enqueues.
   */
  async request(integration: SyncCandidate & { id: string }, trigger: RunTrigger, scope: PullScope = {}, requestId?: string): Promise<RequestedPull> {
    const refusal = syncRefusal(integration, trigger);
    if (refusal) throw new AppError(refusal.code, refusal.message, { expected: true });
    const pullScope = scopeKey(scope);
    const requestIds = requestId === undefined ? [] : [requestId];
    const { runId, created } = await this.db.runs.requestRun(integration.id, trigger, { kind: 'availability_pull', requestIds, ...(pullScope === undefined ? {} : { pullScope }) });
    // A request that joins a queued pull gets that pull's scope (its job exists already): a whole
    // one, or one of exactly its own scope (see joinableRun).
    const job = await this.producer.enqueue(availabilityPullJob, { integrationId: integration.id, runId, ...scope, ...(requestId === undefined ? {} : { requestId }) });
    return { runId, created, job };
  }
}

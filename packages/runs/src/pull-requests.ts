import type { Job } from 'bullmq';
import { pullTiersOf, syncRefusal, tierDays, tierScope, type Db, type HintTarget, type Integration, type RunTrigger, type SyncCandidate } from '@octo-sync/db';
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

/** A tier pull's scope: its number (the key) and its days from the local today. */
interface TierScope {
  tier: number;
  days: { from: number; to: number };
}

/**
 * A narrowed scope as one short canonical key (stored on its run); undefined for the whole window.
 * A tier's key is `["tier",N]`: its dates move with the day, its pulls are single-flight per tier.
 */
function scopeKey(scope: PullScope | TierScope): string | undefined {
  if ('tier' in scope) return tierScope(scope.tier);
  const { productId, optionId, from, to } = scope;
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
 * queued joins it when that pull covers it, a whole one or one narrowed to exactly the same scope) and enqueues its job (one job per run). Pulls are
 * single-flight per pull scope (each claims its own pull flight) and run beside a catalog run.
 */
export class PullRequests {
  constructor(
    private readonly db: Db,
    private readonly producer: JobProducer,
  ) {}

  /**
   * Throws an AppError with the refusal's code when the integration may not sync. `requestId`: the
   * gateway request that asks, recorded on the run (new or joined) and carried by a job it enqueues.
   * `joinRunning`: also join a pull of that scope that is already running (its answer comes after
   * the request), as freshness-bounded reads do, instead of queueing another behind it.
   */
  async request(integration: SyncCandidate & { id: string }, trigger: RunTrigger, scope: PullScope | TierScope = {}, requestId?: string, { joinRunning = false } = {}): Promise<RequestedPull> {
    const refusal = syncRefusal(integration, trigger);
    if (refusal) throw new AppError(refusal.code, refusal.message, { expected: true });
    const pullScope = scopeKey(scope);
    const requestIds = requestId === undefined ? [] : [requestId];
    const { runId, created } = await this.db.runs.requestRun(integration.id, trigger, { kind: 'availability_pull', joinRunning, requestIds, ...(pullScope === undefined ? {} : { pullScope }) });
    // A request that joins a queued pull gets that pull's scope (its job exists already): a whole
    // one, or one of exactly its own scope (see joinableRun).
    const narrowed = 'tier' in scope ? { days: scope.days } : scope;
    const job = await this.producer.enqueue(availabilityPullJob, { integrationId: integration.id, runId, ...narrowed, ...(requestId === undefined ? {} : { requestId }) });
    return { runId, created, job };
  }

  /**
   * A scheduled pull of one tier of `integration` (the tick's, for a tier the pull schedule says is
   * due): the tier's days in each product's time zone, keyed `["tier",N]`. Undefined when the
   * integration no longer has that tier (its tiers changed since the claim), or when a pull of that
   * tier is still queued or running: the supplier's budget has not served the last one yet, and
   * one queued behind it would pull the tier again as soon as it ends, not once per interval. A
   * queued one gets its job enqueued again (the same job id: nothing is added while it exists), so
   * a run whose job was never added (Redis failed after the run was recorded) is pulled; a running
   * one started more than `abandonAfterMs` ago does not count, so a new run's claim abandons it.
   */
  async requestTier(integration: Integration, tier: number, abandonAfterMs: number): Promise<RequestedPull | undefined> {
    const days = tierDays(pullTiersOf(integration), tier);
    if (days === undefined) return undefined;
    const scope = { tier, days };
    const inFlight = await this.db.pullSchedule.inFlight(integration.id, scopeKey(scope)!, abandonAfterMs);
    if (inFlight?.status === 'queued') await this.producer.enqueue(availabilityPullJob, { integrationId: integration.id, runId: inFlight.runId, days });
    if (inFlight !== undefined) return undefined;
    return this.request(integration, 'schedule', scope);
  }

  /**
   * Change hints (a notify without slot data): they join the integration's queued hint run while
   * its job may still run, else make one whose job waits `coalesceMs` so that hints arriving
   * meanwhile share its run. Its supplier calls start after every hint it carries arrived (see
   * `requestHintRun`).
   */
  async hint(integration: SyncCandidate & { id: string }, hints: readonly HintTarget[], coalesceMs: number, requestId?: string): Promise<{ runId: string; created: boolean }> {
    const refusal = syncRefusal(integration, 'webhook');
    if (refusal) throw new AppError(refusal.code, refusal.message, { expected: true });
    const requestIds = requestId === undefined ? [] : [requestId];
    const payload = (runId: string) => ({ integrationId: integration.id, runId, hinted: true as const, ...(requestId === undefined ? {} : { requestId }) });
    // A queued run whose job already failed (or ended) is never pulled: joining it would drop the hints.
    const mayRun = (queued: string) => this.producer.jobMayRun(availabilityPullJob, payload(queued));
    const { runId, created } = await this.db.runs.requestHintRun(integration.id, hints, requestIds, mayRun);
    // Also when joined: the job id is the run's, so this adds nothing when its job exists.
    await this.producer.enqueue(availabilityPullJob, payload(runId), { delay: coalesceMs });
    return { runId, created };
  }
}

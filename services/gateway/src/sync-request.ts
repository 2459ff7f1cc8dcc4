import type { Job } from 'bullmq';
import { catalogSyncJob, type JobProducer } from '@octo-sync/jobs';
import type { Db, Integration, RunTrigger } from '@octo-sync/db';
import { KeyedGroupCommit, type Logger } from '@octo-sync/platform';
import { ApiError } from './errors';
import { BASE_PATH } from './paths';
import type { Reply } from './route';

export interface SyncRequestDeps {
  db: Db;
  producer: JobProducer;
  /** How long to wait for the run before answering 202. */
  waitMs: number;
  /** Records runs and enqueues their jobs, coalescing concurrent requests (one per app). */
  runs: RunRequester;
}

/** A recorded run, its job, and how many requests shared this one requestRun + enqueue. */
export interface RequestedRun {
  runId: string;
  created: boolean;
  startedBefore: boolean;
  job: Job;
  shared: number;
  /** The batch's first caller (it logs the request for the batch). */
  first: boolean;
}

/** What a batch of coalesced sync requests has in common. */
interface RunRequestKey {
  integrationId: string;
  trigger: RunTrigger;
  force: boolean;
}

/** Run ids whose job this process remembers having enqueued. */
const ENQUEUED_MEMORY = 1_000;

/** Callers of one batch at most (they are all answered with the same run, so this only bounds a batch). */
const RUN_REQUEST_BATCH_MAX = 10_000;

/**
 * Records a run (`requestRun`) and enqueues its job, with requests for one integration coalesced
 * in this process: requests that arrive while a requestRun + enqueue for the same
 * (integration, trigger, force) is in flight wait for it to finish and then share the NEXT one,
 * a single requestRun + enqueue for all of them, and all get its run_id. Under a burst of
 * triggers this turns N transactions that queue on the integration's advisory lock (and N
 * enqueues) into about one per round trip.
 *
 * Why a coalesced caller still gets a run that includes its change: a {@link KeyedGroupCommit} starts a
 * batch only with callers that had already arrived (a caller that arrives while a batch is in
 * flight is never added to it; it goes into the next batch). So a batch's requestRun starts after
 * every one of its callers arrived, and the run it returns was either created then, or found
 * still `queued` (not yet started) then, i.e. after each caller's arrival. Either way the run's
 * fetch starts after every caller arrived and sees their change: exactly what each caller would
 * have got from its own requestRun, which would also have joined that queued run. (The same
 * argument covers the lock-free join of a run already queued, `findQueuedRun`: it is read after
 * every caller of the batch arrived.)
 *
 * `force` and `trigger` are part of the group key rather than merged: a batch calls requestRun
 * with exactly the arguments each of its callers would have used, so a forced admin request is
 * never lost (nor does a webhook become forced, or an admin run be recorded as `webhook`).
 * Batches of different keys for one integration still serialise on requestRun's advisory lock and
 * join one queued run, whose `force` requestRun upgrades as before.
 */
export class RunRequester {
  private readonly batches = new KeyedGroupCommit<RunRequestKey, RequestedRun>((_key, callers) => this.apply(callers[0]!, callers.length), RUN_REQUEST_BATCH_MAX);
  /**
   * Jobs this process enqueued, by run id (the most recent {@link ENQUEUED_MEMORY}). Joining such a
   * run needs no second enqueue: the re-add only repairs a run whose first enqueue failed.
   */
  private readonly enqueued = new Map<string, Job>();

  constructor(
    private readonly db: Db,
    private readonly producer: JobProducer,
  ) {}

  async request(integrationId: string, trigger: RunTrigger, force: boolean): Promise<RequestedRun> {
    const [requested] = await this.batches.submit(`${integrationId}|${trigger}|${force ? 1 : 0}`, [{ integrationId, trigger, force }]);
    return requested!;
  }

  /** One requestRun + enqueue for `callers` requests that share `key` (so the same arguments). */
  private async apply({ integrationId, trigger, force }: RunRequestKey, callers: number): Promise<RequestedRun[]> {
    // Fast path: a queued run to join (and no force to record on it) needs no lock; see findQueuedRun.
    const queued = await this.db.runs.findQueuedRun(integrationId);
    const joined = queued && (queued.force || !force) ? { ...queued, created: false } : await this.db.runs.requestRun(integrationId, trigger, { force });
    const { runId, created, startedBefore } = joined;
    const job = (!created && this.enqueued.get(runId)) || (await this.enqueue(integrationId, runId));
    // A run the nightly fan-out spread into the future starts now that someone is waiting for it.
    // Only those are delayed on purpose: one that already ran and waits to retry keeps its backoff
    // (it may honour a supplier's Retry-After), and no other trigger delays its job.
    if (!created && !startedBefore && joined.trigger === 'schedule') await this.producer.promoteIfDelayed(job);
    return Array.from({ length: callers }, (_, i) => ({ runId, created, startedBefore, job, shared: callers, first: i === 0 }));
  }

  private async enqueue(integrationId: string, runId: string): Promise<Job> {
    const job = await this.producer.enqueue(catalogSyncJob, { integrationId, runId });
    this.enqueued.set(runId, job);
    if (this.enqueued.size > ENQUEUED_MEMORY) this.enqueued.delete(this.enqueued.keys().next().value as string);
    return job;
  }
}

export interface SyncRequest {
  integration: Pick<Integration, 'id' | 'isApproved' | 'isActive'>;
  trigger: 'webhook' | 'admin';
  force?: boolean;
  /** `Prefer: respond-async`: answer 202 at once. */
  respondAsync: boolean;
  log: Logger;
}

/** True when a `Prefer` header asks for an asynchronous answer (RFC 7240). */
export function prefersAsync(prefer: string | undefined): boolean {
  return (prefer ?? '')
    .split(',')
    .some((token) => token.trim().toLowerCase().split(/\s*;\s*/)[0] === 'respond-async');
}

/**
 * Requests a catalog sync and answers as spec §4 says, for the webhook and the admin route alike:
 * the run is recorded first (requests during a queued run join it), its job enqueued (one job
 * per run; concurrent requests share both, see {@link RunRequester}), then we wait up to the bound. The answer always comes from the run row, whatever the
 * queue said: 200 with `synced`/`skipped` (or `error` for a failed run), 202 while it is not done.
 */
export async function requestSync(deps: SyncRequestDeps, request: SyncRequest): Promise<Reply> {
  const { integration, log } = request;
  if (!integration.isApproved) {
    throw new ApiError('INTEGRATION_NOT_APPROVED', ['integration: is not approved yet; an admin must approve it before it can sync']);
  }
  if (!integration.isActive) throw new ApiError('INTEGRATION_INACTIVE', ['integration: is inactive; an admin must reactivate it']);
  const { runId, created, job, shared, first } = await deps.runs.request(integration.id, request.trigger, request.force ?? false);
  // One info line per requestRun + enqueue (`shared` callers got this run_id), not one per caller.
  if (first) log.info({ integrationId: integration.id, runId, joined: !created, shared, trigger: request.trigger }, 'sync requested');
  else log.debug({ integrationId: integration.id, runId, shared }, 'sync requested (coalesced)');

  const queued = (): Reply => ({
    status: 202,
    body: { success: 1, data: { queued: true, run_id: runId } },
    headers: { Location: `${BASE_PATH}/${integration.id}/sync-log` },
  });
  if (request.respondAsync || deps.waitMs === 0) return queued();

  const outcome = await deps.producer.waitFor(job, deps.waitMs);
  if (outcome.state === 'pending') return queued();
  if (outcome.state === 'failed') log.info({ runId, reason: outcome.reason }, 'sync job attempt failed');
  const run = await deps.db.runs.findRun(runId);
  if (!run) throw new Error(`sync run ${runId} vanished`);
  switch (run.status) {
    case 'succeeded':
    case 'skipped':
      return { status: 200, body: { success: 1, data: { synced: run.synced ?? 0, skipped: run.status === 'skipped', run_id: runId } } };
    case 'failed':
      return {
        status: 200,
        body: { success: 1, data: { synced: 0, skipped: false, run_id: runId, error: run.errorMessage ?? 'the sync failed' } },
      };
    default:
      // A failed attempt that will be retried, or a job that finished without finishing the run.
      return queued();
  }
}

import { catalogSyncJob, type JobProducer } from '@octo-sync/jobs';
import type { Db, Integration } from '@octo-sync/db';
import type { Logger } from '@octo-sync/platform';
import { ApiError } from './errors';
import { BASE_PATH } from './paths';
import type { Reply } from './route';

export interface SyncRequestDeps {
  db: Db;
  producer: JobProducer;
  /** How long to wait for the run before answering 202. */
  waitMs: number;
}

export interface SyncRequest {
  integration: Integration;
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
 * per run), then we wait up to the bound. The answer always comes from the run row, whatever the
 * queue said: 200 with `synced`/`skipped` (or `error` for a failed run), 202 while it is not done.
 */
export async function requestSync(deps: SyncRequestDeps, request: SyncRequest): Promise<Reply> {
  const { integration, log } = request;
  if (!integration.isApproved) {
    throw new ApiError('INTEGRATION_NOT_APPROVED', ['integration: is not approved yet; an admin must approve it before it can sync']);
  }
  if (!integration.isActive) throw new ApiError('INTEGRATION_INACTIVE', ['integration: is inactive; an admin must reactivate it']);
  const { runId, created, startedBefore } = await deps.db.runs.requestRun(integration.id, request.trigger, { force: request.force ?? false });
  const job = await deps.producer.enqueue(catalogSyncJob, { integrationId: integration.id, runId });
  // A run the nightly schedule queued for later starts now that someone is waiting for it; one
  // that already ran and waits to retry keeps its backoff (it may honour a supplier's Retry-After).
  if (!created && !startedBefore) await deps.producer.promoteIfDelayed(job);
  log.info({ integrationId: integration.id, runId, joined: !created, trigger: request.trigger }, 'sync requested');

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

import type { JobProducer } from '@octo-sync/jobs';
import type { Db, SyncCandidate } from '@octo-sync/db';
import type { Logger } from '@octo-sync/platform';
import type { SyncRequests } from '@octo-sync/runs';
import { BASE_PATH } from './paths';
import { okEnvelope, syncAnswerSchema } from './response-schemas';
import { ok, type Reply } from './route';

export interface SyncRequestDeps {
  db: Db;
  producer: JobProducer;
  /** How long to wait for the run before answering 202. */
  waitMs: number;
  /** The one owner of starting a sync (one per app: it coalesces concurrent requests). */
  requests: SyncRequests;
}

export interface SyncRequest {
  integration: SyncCandidate & { id: string };
  trigger: 'webhook' | 'admin';
  force?: boolean;
  /** A targeted refresh of these products only (see `SyncRequestOptions.productIds`). */
  productIds?: readonly string[];
  /** `Prefer: respond-async`: answer 202 at once. */
  respondAsync: boolean;
  /** The HTTP request's id: recorded on the run and carried by its job. */
  requestId: string;
  log: Logger;
}

/** True when a `Prefer` header asks for an asynchronous answer (RFC 7240). */
export function prefersAsync(prefer: string | undefined): boolean {
  return (prefer ?? '')
    .split(',')
    .some((token) => token.trim().toLowerCase().split(/\s*;\s*/)[0] === 'respond-async');
}

/** How the webhook and the admin route answer a sync request (the OpenAPI responses of both). */
export const syncAnswerResponses = {
  200: { description: 'The run finished (or failed: then `error` says why).', schema: okEnvelope(syncAnswerSchema) },
  202: {
    description: 'The run is queued or still running; follow Location (the sync-log).',
    schema: okEnvelope(syncAnswerSchema),
    headers: { Location: { description: 'The integration’s sync-log.', schema: { type: 'string' as const } } },
  },
  409: { description: 'Not approved (INTEGRATION_NOT_APPROVED) or inactive.' },
};

/**
 * Requests a catalog sync ({@link SyncRequests}: the eligibility rule, coalescing, one job per run)
 * and answers for the webhook and the admin route alike, waiting up to the bound. The answer
 * always comes from the run row, whatever the queue said: 200 with `synced`/`skipped` (or `error`
 * for a failed run), 202 while it is not done.
 */
export async function requestSync(deps: SyncRequestDeps, request: SyncRequest): Promise<Reply> {
  const { integration, log } = request;
  const scope = request.productIds === undefined ? {} : { productIds: request.productIds };
  const { runId, created, job, shared, first } = await deps.requests.request(integration, request.trigger, { force: request.force ?? false, requestId: request.requestId, ...scope });
  // One info line per record + enqueue (`shared` callers got this run_id), not one per caller.
  if (first) log.info({ integrationId: integration.id, runId, joined: !created, shared, trigger: request.trigger }, 'sync requested');
  else log.debug({ integrationId: integration.id, runId, shared }, 'sync requested (coalesced)');

  const queued = (): Reply => ok({ queued: true, run_id: runId }, 202, { Location: `${BASE_PATH}/${integration.id}/sync-log` });
  if (request.respondAsync || deps.waitMs === 0) return queued();

  const outcome = await deps.producer.waitFor(job, deps.waitMs);
  if (outcome.state === 'pending') return queued();
  if (outcome.state === 'failed') log.info({ runId, reason: outcome.reason }, 'sync job attempt failed');
  const run = await deps.db.runs.findRun(runId);
  if (!run) throw new Error(`sync run ${runId} vanished`);
  switch (run.status) {
    case 'succeeded':
    case 'skipped':
      return ok({ synced: run.synced ?? 0, skipped: run.status === 'skipped', run_id: runId });
    case 'failed':
      return ok({ synced: 0, skipped: false, run_id: runId, error: run.errorMessage ?? 'the sync failed' });
    default:
      // A failed attempt that will be retried, or a job that finished without finishing the run.
      return queued();
  }
}

import type { Db } from '@octo-sync/db';
import type { JobProducer } from '@octo-sync/jobs';
import type { PullRequests } from '@octo-sync/runs';
import { z } from 'zod';
import type { Admit } from './admission';
import { integrationAccess } from './integration-access';
import { BASE_PATH } from './paths';
import { presentRun } from './presenters';
import { availabilityRefreshSchema, preferHeaderSchema } from './request-schemas';
import { okEnvelope, runSchema } from './response-schemas';
import { defineRoute, ok, type Reply, type RouteSpec } from './route';
import { prefersAsync } from './sync-request';

export interface RefreshRoutesDeps {
  db: Db;
  producer: JobProducer;
  /** The one owner of starting a pull. */
  pulls: PullRequests;
  /** How long to wait for the pull before answering 202. */
  waitMs: number;
  /** Sheds a refresh while the availability backlog is past its bound (429). */
  admit: Admit;
}

const refreshAnswerSchema = z.union([runSchema, z.object({ queued: z.literal(true), run_id: z.string() })]).openapi('AvailabilityRefreshAnswer');

/** `POST /{id}/availability/refresh`: pull availability now, for its owner or an admin. */
export function refreshRoutes({ db, producer, pulls, waitMs, admit }: RefreshRoutesDeps): RouteSpec[] {
  const access = integrationAccess(db);
  const refresh = defineRoute({
    method: 'post',
    path: `${BASE_PATH}/{id}/availability/refresh`,
    operationId: 'refreshAvailability',
    summary: 'Pull availability now (its owner or an admin)',
    description:
      'Runs an availability pull: every active option over the integration’s window, or the product, option and local dates named (one not in the stored catalog is named in the run’s warnings). ' +
      'Answers the finished run (200) within the wait bound, else (or with `Prefer: respond-async`) 202 and Location.',
    tags: ['Owner or admin'],
    auth: 'jwt',
    body: availabilityRefreshSchema,
    bodyOptional: true,
    headers: preferHeaderSchema,
    responses: {
      200: { description: 'The pull finished (or failed: see `status` and `error_message`).', schema: okEnvelope(refreshAnswerSchema) },
      202: { description: 'The pull is queued or running; follow Location (the sync-log).', schema: okEnvelope(refreshAnswerSchema) },
      409: { description: 'Not approved (INTEGRATION_NOT_APPROVED) or inactive.' },
      429: { description: 'LOAD_SHED: the availability backlog is past its bound and this integration sent more than its fair share of recent availability writes (or the backlog is past its hard bound); nothing was queued. See Retry-After.' },
    },
    handler: async ({ req, params, body, log }) => {
      const integration = await access.visible(req, params.id!);
      await admit(integration.id, 1, 'pulls');
      const scope = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
      const { runId, created, job } = await pulls.request(integration, 'refresh', scope, req.id);
      log.info({ integrationId: integration.id, runId, joined: !created }, 'availability pull requested');
      const queued = (): Reply => ok({ queued: true, run_id: runId }, 202, { Location: `${BASE_PATH}/${integration.id}/sync-log` });
      if (prefersAsync(req.get('prefer')) || waitMs === 0) return queued();
      const outcome = await producer.waitFor(job, waitMs);
      const run = outcome.state === 'pending' ? null : await db.runs.findRun(runId);
      return run && (run.status === 'succeeded' || run.status === 'failed') ? ok(presentRun(run)) : queued();
    },
  });
  return [refresh];
}

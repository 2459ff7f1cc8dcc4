import type { Db } from '@octo-sync/db';
import { readSyncProgress, type JobProducer } from '@octo-sync/jobs';
import { integrationAccess } from './integration-access';
import { BASE_PATH } from './paths';
import { presentHealth, presentIntegration, presentRun, presentSync } from './presenters';
import { syncLogQuerySchema } from './request-schemas';
import { healthSchema, integrationSchema, okEnvelope, syncLogSchema } from './response-schemas';
import { defineRoute, ok, type RouteSpec } from './route';

const READS = ['Owner or admin'];

/** An integration, its sync-log and its health, for its owner or an admin (404 for anyone else). */
export function readRoutes({ db, producer }: { db: Db; producer: JobProducer }): RouteSpec[] {
  const access = integrationAccess(db);
  return [
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}`,
      operationId: 'getIntegration',
      summary: 'An integration (its owner or an admin)',
      tags: READS,
      auth: 'jwt',
      responses: { 200: { description: 'The integration.', schema: okEnvelope(integrationSchema) } },
      handler: async ({ req, params }) => ok(presentIntegration(await access.visible(req, params.id!))),
    }),
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/sync-log`,
      operationId: 'getSyncLog',
      summary: 'Current sync state and the most recent runs, newest first (of one kind with `kind`)',
      tags: READS,
      auth: 'jwt',
      query: syncLogQuerySchema,
      responses: { 200: { description: 'The sync-log.', schema: okEnvelope(syncLogSchema) } },
      handler: async ({ req, params, query }) => {
        const integration = await access.visible(req, params.id!);
        const runs = await db.runs.listRuns(integration.id, query.limit, query.kind);
        // One catalog run of an integration runs at a time, and only catalog runs report progress
        // (pulls of other flights may run beside it).
        const running = runs.find((run) => run.status === 'running' && run.kind === 'catalog');
        const progress = running ? await readSyncProgress(producer, running.id) : null;
        return ok({ sync: presentSync(integration), runs: runs.map((run) => presentRun(run, run === running ? progress : null)) });
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/health`,
      operationId: 'getHealth',
      summary: 'The integration’s health object',
      tags: READS,
      auth: 'jwt',
      responses: { 200: { description: 'Health.', schema: okEnvelope(healthSchema) } },
      handler: async ({ req, params }) => ok(presentHealth(await access.visible(req, params.id!))),
    }),
  ];
}

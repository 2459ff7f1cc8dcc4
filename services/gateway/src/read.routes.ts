import type { Db } from '@octo-sync/db';
import { integrationAccess } from './integration-access';
import { BASE_PATH } from './paths';
import { presentHealth, presentIntegration, presentRun, presentSync } from './presenters';
import { syncLogQuerySchema } from './request-schemas';
import { healthSchema, integrationSchema, okEnvelope, syncLogSchema } from './response-schemas';
import { defineRoute, ok, type RouteSpec } from './route';

const READS = ['Owner or admin'];

/** An integration, its sync-log and its health, for its owner or an admin (404 for anyone else). */
export function readRoutes({ db }: { db: Db }): RouteSpec[] {
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
      summary: 'Current sync state and the most recent runs, newest first',
      tags: READS,
      auth: 'jwt',
      query: syncLogQuerySchema,
      responses: { 200: { description: 'The sync-log.', schema: okEnvelope(syncLogSchema) } },
      handler: async ({ req, params, query }) => {
        const integration = await access.visible(req, params.id!);
        const runs = await db.runs.listRuns(integration.id, query.limit);
        return ok({ sync: presentSync(integration), runs: runs.map(presentRun) });
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

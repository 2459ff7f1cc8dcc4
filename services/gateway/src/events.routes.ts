import type { Db } from '@octo-sync/db';
import { integrationAccess } from './integration-access';
import { listReply } from './list-paging';
import { BASE_PATH } from './paths';
import { presentAlert, presentEvent } from './presenters';
import { alertsQuerySchema, eventsQuerySchema } from './request-schemas';
import { alertDeliverySchema, integrationEventSchema, listEnvelope } from './response-schemas';
import { defineRoute, type RouteSpec } from './route';

/** An integration's audit trail and its partner alerts, for its owner or an admin (404 for anyone else). */
export function eventsRoutes({ db }: { db: Db }): RouteSpec[] {
  const access = integrationAccess(db);
  return [
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/events`,
      operationId: 'getIntegrationEvents',
      summary: 'The audit trail: who changed what, when (newest first)',
      description:
        'Every change to the integration: created, approved, revoked, activated, deactivated, base_url_changed, auth_key_changed (never its value), ' +
        'webhook_secret_rotated, webhook_auth_changed, sync_forced (an admin sync), deleted, dashboard_job_action (a job retried, removed or promoted from the queue dashboard). Never a secret. Paginated (pageSize ≤ 100).',
      tags: ['Owner or admin'],
      auth: 'jwt',
      query: eventsQuerySchema,
      responses: { 200: { description: 'A page of events.', schema: listEnvelope(integrationEventSchema) } },
      handler: async ({ req, params, query }) => {
        const integration = await access.visible(req, params.id!);
        const page = await db.events.list(integration.id, query.page, query.pageSize, query.after);
        return listReply(page.items.map(presentEvent), query, page);
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/alerts`,
      operationId: 'getIntegrationAlerts',
      summary: 'The partner alerts sent to alerts_url, and how their delivery went (newest first)',
      description:
        'Each alert with its kind, its data, `status` (`pending` while retried, `delivered`, `failed` for good), `attempts` and the last answer. ' +
        'At most one alert of a kind per integration per 15 minutes (by default). Paginated (pageSize ≤ 100).',
      tags: ['Owner or admin'],
      auth: 'jwt',
      query: alertsQuerySchema,
      responses: { 200: { description: 'A page of alerts.', schema: listEnvelope(alertDeliverySchema) } },
      handler: async ({ req, params, query }) => {
        const integration = await access.visible(req, params.id!);
        const page = await db.alerts.list(integration.id, query.page, query.pageSize, query.after);
        return listReply(page.items.map(presentAlert), query, page);
      },
    }),
  ];
}

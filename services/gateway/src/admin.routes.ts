import { z } from 'zod';
import { listWorkers, queueOverview, workerPresenceSchema, type JobProducer, type RedisConnection } from '@octo-sync/jobs';
import type { Db, Integration } from '@octo-sync/db';
import type { Logger } from '@octo-sync/platform';
import type { SyncRequests } from '@octo-sync/runs';
import { principalOf } from './auth';
import type { GatewayConfig } from './config';
import { integrationAccess, notFound } from './integration-access';
import { settingsOf } from './integration-settings';
import { driftRoutes } from './drift.routes';
import { fleetRoute } from './fleet.routes';
import { BASE_PATH } from './paths';
import { okWithSecret, presentIntegration, presentWebhookSecret } from './presenters';
import { adminSyncQuerySchema, preferHeaderSchema, queueOverviewQuerySchema, requestSchemas } from './request-schemas';
import { createdIntegrationSchema, integrationSchema, okEnvelope, queueOverviewSchema } from './response-schemas';
import { defineRoute, ok, type RouteSpec } from './route';
import { rotateSecret, rotationRoute } from './secret-rotation';
import { prefersAsync, requestSync, syncAnswerResponses } from './sync-request';

export interface AdminRoutesDeps {
  config: GatewayConfig;
  db: Db;
  producer: JobProducer;
  /** Where worker heartbeats are read (the producer-role connection). */
  redis: RedisConnection;
  /** The one owner of starting a sync. */
  requests: SyncRequests;
}

const ADMIN = ['Admin'];

/** What operators do with integrations: create, list (the fleet), approve, revoke, (de)activate, sync; and queue state. */
export function adminRoutes(deps: AdminRoutesDeps): RouteSpec[] {
  const schemas = requestSchemas(deps.config);
  return [
    createRoute(deps, schemas.adminCreateIntegration),
    fleetRoute(deps),
    queuesRoute(deps),
    approveRoute(deps),
    revokeRoute(deps),
    patchRoute(deps, schemas.adminPatchIntegration),
    rotateRoute(deps),
    syncRoute(deps),
    ...driftRoutes(deps),
  ];
}

type Schemas = ReturnType<typeof requestSchemas>;

/**
 * An integration approved just now (by approval or by an approved admin create) gets its catalog
 * at once, not at the next night. Never fails the call: the integration is already stored (an
 * admin create's answer carries the secret, shown once), and a run that could not be queued is
 * run by the next trigger or nightly sync.
 */
async function queueFirstSync(requests: SyncRequests, integration: Integration, log: Logger, requestId: string): Promise<void> {
  try {
    const { runId } = await requests.request(integration, 'admin', { requestId });
    log.info({ integrationId: integration.id, runId }, 'integration approved, first sync queued');
  } catch (err) {
    log.error({ err, integrationId: integration.id }, 'first sync could not be queued; the next trigger or nightly sync runs it');
  }
}

function createRoute({ db, requests }: AdminRoutesDeps, body: Schemas['adminCreateIntegration']): RouteSpec {
  return defineRoute({
    method: 'post',
    path: `${BASE_PATH}/admin/create`,
    operationId: 'adminCreateIntegration',
    summary: 'Create an integration for a partner',
    description: 'Approved by default (and then a first sync is queued, as approval does). The answer carries `webhook_secret`, shown this once only.',
    tags: ADMIN,
    auth: 'admin',
    body,
    responses: {
      201: { description: 'Created; hand webhook_secret to the partner.', schema: okEnvelope(createdIntegrationSchema) },
      409: { description: 'INTEGRATION_EXISTS: the partner already has a live integration.' },
    },
    handler: async ({ req, body, log }) => {
      const { integration, webhookSecret } = await db.integrations.create({
        partnerId: body.partner_id,
        baseUrl: body.base_url,
        authType: body.auth_type,
        authKey: body.auth_key,
        handlesTicketDelivery: body.handles_ticket_delivery,
        isApproved: body.isApproved ?? true,
        ...settingsOf(body),
        actor: principalOf(req).sub,
      });
      log.info({ integrationId: integration.id, partnerId: integration.partnerId }, 'integration created by admin');
      if (integration.isApproved) await queueFirstSync(requests, integration, log, req.id);
      return okWithSecret({ ...presentIntegration(integration), ...presentWebhookSecret(webhookSecret) }, 201);
    },
  });
}

function queuesRoute({ config, producer, redis }: AdminRoutesDeps): RouteSpec {
  return defineRoute({
    method: 'get',
    path: `${BASE_PATH}/admin/queues`,
    operationId: 'adminQueueOverview',
    summary: 'Queue state for operators',
    description:
      'Per queue: job counts by state and the most recently failed jobs with their reasons (`?failed`, default 10, at most 100). ' +
      'Beside `data`, `workers` lists the worker processes with a live heartbeat.',
    tags: ADMIN,
    auth: 'admin',
    query: queueOverviewQuerySchema,
    responses: { 200: { description: 'Every queue, and the live workers.', schema: okEnvelope(z.array(queueOverviewSchema)).extend({ workers: z.array(workerPresenceSchema) }) } },
    handler: async ({ query }) => {
      const [data, workers] = await Promise.all([queueOverview(producer, query.failed), listWorkers(redis, config.queuePrefix)]);
      return { status: 200, body: { success: 1, data, workers } };
    },
  });
}

function approveRoute({ db, requests }: AdminRoutesDeps): RouteSpec {
  return defineRoute({
    method: 'post',
    path: `${BASE_PATH}/admin/{id}/approve`,
    operationId: 'adminApproveIntegration',
    summary: 'Approve an integration',
    description: 'Makes it eligible for scheduled syncs at once and queues a first sync (trigger admin).',
    tags: ADMIN,
    auth: 'admin',
    responses: { 200: { description: 'The approved integration.', schema: okEnvelope(integrationSchema) } },
    handler: async ({ req, params, log }) => {
      const result = await db.integrations.setApproved(params.id!, true, principalOf(req).sub);
      if (!result) throw notFound();
      if (result.changed && result.integration.isActive) await queueFirstSync(requests, result.integration, log, req.id);
      return ok(presentIntegration(result.integration));
    },
  });
}

function revokeRoute({ db }: AdminRoutesDeps): RouteSpec {
  return defineRoute({
    method: 'post',
    path: `${BASE_PATH}/admin/{id}/revoke`,
    operationId: 'adminRevokeIntegration',
    summary: 'Withdraw an integration’s approval',
    tags: ADMIN,
    auth: 'admin',
    responses: { 200: { description: 'The integration, no longer approved.', schema: okEnvelope(integrationSchema) } },
    handler: async ({ req, params, log }) => {
      const result = await db.integrations.setApproved(params.id!, false, principalOf(req).sub);
      if (!result) throw notFound();
      if (result.changed) log.info({ integrationId: result.integration.id }, 'integration approval revoked');
      return ok(presentIntegration(result.integration));
    },
  });
}

function patchRoute({ db }: AdminRoutesDeps, body: Schemas['adminPatchIntegration']): RouteSpec {
  return defineRoute({
    method: 'patch',
    path: `${BASE_PATH}/admin/{id}`,
    operationId: 'adminUpdateIntegration',
    summary: 'Activate or deactivate an integration, or set how its webhooks authenticate',
    tags: ADMIN,
    auth: 'admin',
    body,
    responses: {
      200: { description: 'The updated integration.', schema: okEnvelope(integrationSchema) },
      409: { description: 'SIGNING_UNAVAILABLE: `signature` mode needs a signing key; rotate the secret first.' },
    },
    handler: async ({ req, params, body, log }) => {
      const actor = principalOf(req).sub;
      const settings = settingsOf(body);
      if (Object.keys(settings).length > 0 && !(await db.integrations.update(params.id!, settings, actor))) throw notFound();
      if (body.isActive !== undefined) {
        const result = await db.integrations.setActive(params.id!, body.isActive, actor);
        if (!result) throw notFound();
        if (result.changed) log.info({ integrationId: result.integration.id, isActive: body.isActive }, 'integration activity changed');
      }
      return ok(presentIntegration(await integrationAccess(db).adminTarget(params.id!)));
    },
  });
}

function rotateRoute({ db }: AdminRoutesDeps): RouteSpec {
  return defineRoute({
    ...rotationRoute,
    path: `${BASE_PATH}/admin/{id}/webhook-secret/rotate`,
    operationId: 'adminRotateWebhookSecret',
    summary: 'Rotate an integration’s webhook secret',
    tags: ADMIN,
    auth: 'admin',
    handler: async ({ req, params, body, log }) =>
      rotateSecret(db, { id: params.id!, actor: principalOf(req).sub, idempotencyKey: req.get('idempotency-key') }, body, log),
  });
}

function syncRoute({ config, db, producer, requests }: AdminRoutesDeps): RouteSpec {
  const access = integrationAccess(db);
  const syncDeps = { db, producer, waitMs: config.syncTriggerWaitMs, requests };
  return defineRoute({
    method: 'post',
    path: `${BASE_PATH}/admin/{id}/sync`,
    operationId: 'adminSyncIntegration',
    summary: 'Run a sync now (trigger admin)',
    description: 'Answers like the sync webhook. `?force=true` overrides the mass-removal guard.',
    tags: ADMIN,
    auth: 'admin',
    query: adminSyncQuerySchema,
    headers: preferHeaderSchema,
    responses: syncAnswerResponses,
    handler: async ({ req, params, query, log }) => {
      const integration = await access.adminTarget(params.id!);
      const force = query.force ?? false;
      await db.events.record(integration.id, { type: 'sync_forced', actor: principalOf(req).sub, details: { force } });
      return requestSync(syncDeps, { integration, trigger: 'admin', force, respondAsync: prefersAsync(req.get('prefer')), requestId: req.id, log });
    },
  });
}

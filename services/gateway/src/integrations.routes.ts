import type { Request } from 'express';
import type { Redis } from 'ioredis';
import { listWorkers, queueOverview, testConnectionJob, testConnectionResultSchema, workerPresenceSchema, type JobProducer } from '@octo-sync/jobs';
import { z } from 'zod';
import type { Db, Integration } from '@octo-sync/db';
import type { Logger } from '@octo-sync/platform';
import type { SyncRequests } from '@octo-sync/runs';
import { principalOf } from './auth';
import type { GatewayConfig } from './config';
import { ApiError } from './errors';
import { BASE_PATH } from './paths';
import { presentHealth, presentIntegration, presentRun, presentSync } from './presenters';
import { webhookIntegration } from './request-context';
import { defineRoute, type RouteSpec } from './route';
import {
  adminSyncQuerySchema,
  createdIntegrationSchema,
  deletedSchema,
  healthSchema,
  integrationSchema,
  listEnvelope,
  listQuerySchema,
  okEnvelope,
  preferHeaderSchema,
  queueOverviewQuerySchema,
  queueOverviewSchema,
  requestSchemas,
  syncAnswerSchema,
  syncLogQuerySchema,
  syncLogSchema,
  testConnectionSchema,
  webhookHeadersSchema,
} from './schemas';
import { prefersAsync, requestSync } from './sync-request';

export interface IntegrationRoutesDeps {
  config: GatewayConfig;
  db: Db;
  producer: JobProducer;
  /** Where worker heartbeats are read (the producer-role connection). */
  redis: Redis;
  /** The one owner of starting a sync. */
  requests: SyncRequests;
}

const PARTNER = ['Partner'];
const ADMIN = ['Admin'];
const READS = ['Owner or admin'];
const WEBHOOKS = ['Webhooks'];

const notFound = () => new ApiError('NOT_FOUND', ['integration: not found']);
const noIntegration = () => new ApiError('NOT_FOUND', ['integration: this partner has no integration; create one with POST ' + BASE_PATH]);

const syncAnswerResponses = {
  200: { description: 'The run finished (or failed: then `error` says why).', schema: okEnvelope(syncAnswerSchema) },
  202: {
    description: 'The run is queued or still running; follow Location (the sync-log).',
    schema: okEnvelope(syncAnswerSchema),
    headers: { Location: { description: 'The integration’s sync-log.', schema: { type: 'string' as const } } },
  },
  409: { description: 'Not approved (INTEGRATION_NOT_APPROVED) or inactive.' },
};

/** The partner and admin routes of the integration resource, and the sync-trigger webhook. */
export function integrationRoutes({ config, db, producer, redis, requests }: IntegrationRoutesDeps): RouteSpec[] {
  const schemas = requestSchemas(config);
  const syncDeps = { db, producer, waitMs: config.syncTriggerWaitMs, requests };

  /**
   * An integration approved just now (by approval or by an approved admin create) gets its catalog
   * at once, not at the next night. Never fails the call: the integration is already stored (an
   * admin create's answer carries the secret, shown once), and a run that could not be queued is
   * run by the next trigger or nightly sync.
   */
  async function queueFirstSync(integration: Integration, log: Logger): Promise<void> {
    try {
      const { runId } = await requests.request(integration, 'admin');
      log.info({ integrationId: integration.id, runId }, 'integration approved, first sync queued');
    } catch (err) {
      log.error({ err, integrationId: integration.id }, 'first sync could not be queued; the next trigger or nightly sync runs it');
    }
  }

  /** The live integration `id`, if the caller may see it: its owner or an admin; 404 otherwise. */
  async function visible(req: Request, id: string): Promise<Integration> {
    const principal = principalOf(req);
    const integration = await db.integrations.findLive(id);
    // Another partner's id answers exactly like an unknown one: no confirmation that it exists.
    if (!integration || (principal.role !== 'admin' && integration.partnerId !== principal.sub)) throw notFound();
    return integration;
  }

  async function mine(req: Request): Promise<Integration> {
    const integration = await db.integrations.findLiveByPartner(principalOf(req).sub);
    if (!integration) throw noIntegration();
    return integration;
  }

  async function adminTarget(id: string): Promise<Integration> {
    const integration = await db.integrations.findLive(id);
    if (!integration) throw notFound();
    return integration;
  }

  const ok = (data: unknown, status = 200) => ({ status, body: { success: 1, data } });

  return [
    // ---------------------------------------------------------------------------------- partner
    defineRoute({
      method: 'post',
      path: BASE_PATH,
      operationId: 'createIntegration',
      summary: 'Create the caller’s integration',
      description: 'Starts unapproved. The answer carries `webhook_secret`, shown this once only.',
      tags: PARTNER,
      auth: 'partner',
      body: schemas.createIntegration,
      responses: {
        201: { description: 'Created; store webhook_secret now.', schema: okEnvelope(createdIntegrationSchema) },
        409: { description: 'INTEGRATION_EXISTS: the partner already has a live integration.' },
      },
      handler: async ({ req, body, log }) => {
        const { integration, webhookSecret } = await db.integrations.create({
          partnerId: principalOf(req).sub,
          baseUrl: body.base_url,
          authType: body.auth_type,
          authKey: body.auth_key,
          handlesTicketDelivery: body.handles_ticket_delivery,
          isApproved: false,
        });
        log.info({ integrationId: integration.id }, 'integration created');
        return ok({ ...presentIntegration(integration), webhook_secret: webhookSecret }, 201);
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/me`,
      operationId: 'getMyIntegration',
      summary: 'The caller’s integration',
      tags: PARTNER,
      auth: 'partner',
      responses: { 200: { description: 'The integration.', schema: okEnvelope(integrationSchema) } },
      handler: async ({ req }) => ok(presentIntegration(await mine(req))),
    }),
    defineRoute({
      method: 'patch',
      path: `${BASE_PATH}/me`,
      operationId: 'updateMyIntegration',
      summary: 'Change the caller’s integration',
      description: 'A new base_url sets isApproved to false: an admin must approve the new target.',
      tags: PARTNER,
      auth: 'partner',
      body: schemas.patchIntegration,
      responses: { 200: { description: 'The updated integration.', schema: okEnvelope(integrationSchema) } },
      handler: async ({ req, body, log }) => {
        const current = await mine(req);
        const updated = await db.integrations.update(current.id, {
          ...(body.base_url === undefined ? {} : { baseUrl: body.base_url }),
          ...(body.auth_type === undefined ? {} : { authType: body.auth_type }),
          ...(body.auth_key === undefined ? {} : { authKey: body.auth_key }),
          ...(body.handles_ticket_delivery === undefined ? {} : { handlesTicketDelivery: body.handles_ticket_delivery }),
        });
        if (!updated) throw noIntegration();
        log.info({ integrationId: updated.id, fields: Object.keys(body), approvalWithdrawn: current.isApproved && !updated.isApproved }, 'integration updated');
        return ok(presentIntegration(updated));
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${BASE_PATH}/me`,
      operationId: 'deleteMyIntegration',
      summary: 'Soft-delete the caller’s integration',
      description: 'Webhooks stop answering, its products become inactive, nothing is erased; a new integration may be created.',
      tags: PARTNER,
      auth: 'partner',
      responses: { 200: { description: 'Deleted.', schema: okEnvelope(deletedSchema) } },
      handler: async ({ req, log }) => {
        const current = await mine(req);
        if (!(await db.integrations.softDelete(current.id))) throw noIntegration();
        log.info({ integrationId: current.id }, 'integration deleted');
        return ok({ _id: current.id, deleted: true });
      },
    }),
    defineRoute({
      method: 'post',
      path: `${BASE_PATH}/me/test-connection`,
      operationId: 'testMyConnection',
      summary: 'Call GET {base_url}/products now with the stored credentials',
      description: 'Runs in a worker through the same outbound client and address rules as a sync. `ok: false` carries a message the partner can act on.',
      tags: PARTNER,
      auth: 'partner',
      responses: {
        200: { description: 'What the connection test found (ok true or false).', schema: okEnvelope(testConnectionSchema) },
        503: { description: 'No worker answered in time.' },
      },
      handler: async ({ req, log }) => {
        const integration = await mine(req);
        const job = await producer.enqueue(testConnectionJob, { integrationId: integration.id });
        const outcome = await producer.waitFor<unknown>(job, config.testConnectionWaitMs);
        if (outcome.state === 'completed') {
          const result = testConnectionResultSchema.safeParse(outcome.value);
          if (result.success) return ok(result.data);
          log.error({ jobId: job.id }, 'test-connection job returned an unexpected result');
          throw new ApiError('TEST_CONNECTION_UNAVAILABLE', ['test-connection: the worker returned an unreadable result; try again later']);
        }
        if (outcome.state === 'pending') {
          // Nobody will read a late answer: drop the job unless a worker already holds it.
          const removed = await job.remove().then(
            () => true,
            (err: unknown) => {
              log.debug({ err, jobId: job.id }, 'late test-connection job could not be removed (already running)');
              return false;
            },
          );
          log.warn({ jobId: job.id, removed, waitMs: config.testConnectionWaitMs }, 'test-connection timed out waiting for a worker');
          throw new ApiError('TEST_CONNECTION_UNAVAILABLE', [`test-connection: no worker answered within ${config.testConnectionWaitMs} ms; try again shortly`], {
            headers: { 'Retry-After': '5' },
          });
        }
        log.error({ jobId: job.id, reason: outcome.reason }, 'test-connection job failed');
        throw new ApiError('TEST_CONNECTION_UNAVAILABLE', ['test-connection: the connection test could not run; try again later']);
      },
    }),

    // ------------------------------------------------------------------------------------ admin
    defineRoute({
      method: 'post',
      path: `${BASE_PATH}/admin/create`,
      operationId: 'adminCreateIntegration',
      summary: 'Create an integration for a partner',
      description: 'Approved by default (and then a first sync is queued, as approval does). The answer carries `webhook_secret`, shown this once only.',
      tags: ADMIN,
      auth: 'admin',
      body: schemas.adminCreateIntegration,
      responses: {
        201: { description: 'Created; hand webhook_secret to the partner.', schema: okEnvelope(createdIntegrationSchema) },
        409: { description: 'INTEGRATION_EXISTS: the partner already has a live integration.' },
      },
      handler: async ({ body, log }) => {
        const { integration, webhookSecret } = await db.integrations.create({
          partnerId: body.partner_id,
          baseUrl: body.base_url,
          authType: body.auth_type,
          authKey: body.auth_key,
          handlesTicketDelivery: body.handles_ticket_delivery,
          isApproved: body.isApproved ?? true,
        });
        log.info({ integrationId: integration.id, partnerId: integration.partnerId }, 'integration created by admin');
        if (integration.isApproved) await queueFirstSync(integration, log);
        return ok({ ...presentIntegration(integration), webhook_secret: webhookSecret }, 201);
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/admin`,
      operationId: 'adminListIntegrations',
      summary: 'List live integrations',
      description: 'Newest first, paginated (pageSize ≤ 100), with filters.',
      tags: ADMIN,
      auth: 'admin',
      query: listQuerySchema,
      responses: { 200: { description: 'A page of integrations.', schema: listEnvelope(integrationSchema) } },
      handler: async ({ query }) => {
        const { items, totalCount } = await db.integrations.list({
          page: query.page,
          pageSize: query.pageSize,
          ...(query.isApproved === undefined ? {} : { isApproved: query.isApproved }),
          ...(query.isActive === undefined ? {} : { isActive: query.isActive }),
          ...(query.sync_status === undefined ? {} : { syncStatus: query.sync_status }),
          ...(query.health_status === undefined ? {} : { healthStatus: query.health_status }),
          ...(query.partner_id === undefined ? {} : { partnerId: query.partner_id }),
        });
        return {
          status: 200,
          body: { success: 1, data: items.map(presentIntegration), pagination: { page: query.page, pageSize: query.pageSize, totalCount } },
        };
      },
    }),
    defineRoute({
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
    }),
    defineRoute({
      method: 'post',
      path: `${BASE_PATH}/admin/{id}/approve`,
      operationId: 'adminApproveIntegration',
      summary: 'Approve an integration',
      description: 'Makes it eligible for scheduled syncs at once and queues a first sync (trigger admin).',
      tags: ADMIN,
      auth: 'admin',
      responses: { 200: { description: 'The approved integration.', schema: okEnvelope(integrationSchema) } },
      handler: async ({ params, log }) => {
        const result = await db.integrations.setApproved(params.id!, true);
        if (!result) throw notFound();
        if (result.changed && result.integration.isActive) await queueFirstSync(result.integration, log);
        return ok(presentIntegration(result.integration));
      },
    }),
    defineRoute({
      method: 'post',
      path: `${BASE_PATH}/admin/{id}/revoke`,
      operationId: 'adminRevokeIntegration',
      summary: 'Withdraw an integration’s approval',
      tags: ADMIN,
      auth: 'admin',
      responses: { 200: { description: 'The integration, no longer approved.', schema: okEnvelope(integrationSchema) } },
      handler: async ({ params, log }) => {
        const result = await db.integrations.setApproved(params.id!, false);
        if (!result) throw notFound();
        if (result.changed) log.info({ integrationId: result.integration.id }, 'integration approval revoked');
        return ok(presentIntegration(result.integration));
      },
    }),
    defineRoute({
      method: 'patch',
      path: `${BASE_PATH}/admin/{id}`,
      operationId: 'adminUpdateIntegration',
      summary: 'Activate or deactivate an integration',
      tags: ADMIN,
      auth: 'admin',
      body: schemas.adminPatchIntegration,
      responses: { 200: { description: 'The updated integration.', schema: okEnvelope(integrationSchema) } },
      handler: async ({ params, body, log }) => {
        const result = await db.integrations.setActive(params.id!, body.isActive);
        if (!result) throw notFound();
        if (result.changed) log.info({ integrationId: result.integration.id, isActive: body.isActive }, 'integration activity changed');
        return ok(presentIntegration(result.integration));
      },
    }),
    defineRoute({
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
      handler: async ({ req, params, query, log }) =>
        requestSync(syncDeps, {
          integration: await adminTarget(params.id!),
          trigger: 'admin',
          force: query.force ?? false,
          respondAsync: prefersAsync(req.get('prefer')),
          log,
        }),
    }),

    // --------------------------------------------------------------------------- owner or admin
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}`,
      operationId: 'getIntegration',
      summary: 'An integration (its owner or an admin)',
      tags: READS,
      auth: 'jwt',
      responses: { 200: { description: 'The integration.', schema: okEnvelope(integrationSchema) } },
      handler: async ({ req, params }) => ok(presentIntegration(await visible(req, params.id!))),
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
        const integration = await visible(req, params.id!);
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
      handler: async ({ req, params }) => ok(presentHealth(await visible(req, params.id!))),
    }),

    // --------------------------------------------------------------------------------- webhooks
    defineRoute({
      method: 'post',
      path: `${BASE_PATH}/{id}/sync/trigger`,
      operationId: 'triggerSync',
      summary: 'Sync the catalog now (partner webhook)',
      description: `No body needed. Waits up to SYNC_TRIGGER_WAIT_MS (default 20 s) for the run; \`Prefer: respond-async\` answers 202 at once. Rate limited per integration (WEBHOOK_RATE_LIMIT per WEBHOOK_RATE_WINDOW_MS).`,
      tags: WEBHOOKS,
      auth: 'webhook',
      headers: webhookHeadersSchema.extend(preferHeaderSchema.shape),
      responses: syncAnswerResponses,
      handler: async ({ req, log }) =>
        requestSync(syncDeps, {
          integration: webhookIntegration(req),
          trigger: 'webhook',
          respondAsync: prefersAsync(req.get('prefer')),
          log,
        }),
    }),
  ];
}


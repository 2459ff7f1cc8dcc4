import { testConnectionJob, testConnectionResultSchema, type JobProducer, type RedisConnection, type TestConnectionResult } from '@octo-sync/jobs';
import { refuseBudgetRaise, type Db, type Integration } from '@octo-sync/db';
import type { Logger } from '@octo-sync/platform';
import { principalOf } from './auth';
import type { GatewayConfig } from './config';
import { ApiError } from './errors';
import { integrationAccess, noIntegration, type IntegrationAccess } from './integration-access';
import { settingsOf } from './integration-settings';
import { areaSessions } from './pages/session-store';
import { BASE_PATH } from './paths';
import { okWithSecret, presentIntegration, presentWebhookSecret } from './presenters';
import { requestSchemas } from './request-schemas';
import { createdIntegrationSchema, deletedSchema, integrationSchema, okEnvelope, testConnectionSchema } from './response-schemas';
import { defineRoute, ok, type RouteSpec } from './route';
import { rotateSecret, rotationRoute } from './secret-rotation';

export interface PartnerRoutesDeps {
  config: GatewayConfig;
  db: Db;
  producer: JobProducer;
  /** The portal's sessions: deleting the integration ends every one of its partner's. */
  redis: RedisConnection;
}

const PARTNER = ['Partner'];

/** A partner's own integration: create it, read, change and delete it, test its connection. */
export function partnerRoutes(deps: PartnerRoutesDeps): RouteSpec[] {
  const access = integrationAccess(deps.db);
  const schemas = requestSchemas(deps.config);
  return [
    createRoute(deps, schemas.createIntegration),
    getMineRoute(access),
    patchMineRoute(deps, access, schemas.patchIntegration),
    deleteMineRoute(deps, access),
    testConnectionRoute(deps, access),
    rotateMineRoute(deps, access),
  ];
}

type Schemas = ReturnType<typeof requestSchemas>;

function createRoute({ db }: PartnerRoutesDeps, body: Schemas['createIntegration']): RouteSpec {
  return defineRoute({
    method: 'post',
    path: BASE_PATH,
    operationId: 'createIntegration',
    summary: 'Create the caller’s integration',
    description: 'Starts unapproved. The answer carries `webhook_secret` (and the same key as `webhook_signing_secret`), shown this once only.',
    tags: PARTNER,
    auth: 'partner',
    body,
    responses: {
      201: { description: 'Created; store webhook_secret now.', schema: okEnvelope(createdIntegrationSchema) },
      403: { description: 'Authenticated, but this role may not call this endpoint; or BUDGET_RAISE_FORBIDDEN: `supplier_budget` above the defaults (only an admin may raise it).' },
      409: { description: 'INTEGRATION_EXISTS: the partner already has a live integration.' },
    },
    handler: async ({ req, body, log }) => {
      const settings = settingsOf(body);
      refuseBudgetRaise(settings.supplierBudget);
      const { integration, webhookSecret } = await db.integrations.create({
        partnerId: principalOf(req).sub,
        baseUrl: body.base_url,
        authType: body.auth_type,
        authKey: body.auth_key,
        handlesTicketDelivery: body.handles_ticket_delivery,
        isApproved: false,
        ...settings,
        actor: principalOf(req).sub,
      });
      log.info({ integrationId: integration.id }, 'integration created');
      return okWithSecret({ ...presentIntegration(integration), ...presentWebhookSecret(webhookSecret) }, 201);
    },
  });
}

function getMineRoute(access: IntegrationAccess): RouteSpec {
  return defineRoute({
    method: 'get',
    path: `${BASE_PATH}/me`,
    operationId: 'getMyIntegration',
    summary: 'The caller’s integration',
    tags: PARTNER,
    auth: 'partner',
    responses: { 200: { description: 'The integration.', schema: okEnvelope(integrationSchema) } },
    handler: async ({ req }) => ok(presentIntegration(await access.mine(req))),
  });
}

function patchMineRoute({ db }: PartnerRoutesDeps, access: IntegrationAccess, body: Schemas['patchIntegration']): RouteSpec {
  return defineRoute({
    method: 'patch',
    path: `${BASE_PATH}/me`,
    operationId: 'updateMyIntegration',
    summary: 'Change the caller’s integration',
    description:
      'A new base_url sets isApproved to false: an admin must approve the new target. `webhook_auth: "signature"` needs a signing key (409 SIGNING_UNAVAILABLE until the first rotation for integrations created before signatures).',
    tags: PARTNER,
    auth: 'partner',
    body,
    responses: {
      200: { description: 'The updated integration.', schema: okEnvelope(integrationSchema) },
      403: { description: 'Authenticated, but this role may not call this endpoint; or BUDGET_RAISE_FORBIDDEN: `supplier_budget` raised (a partner may only lower it; an admin raises it).' },
      409: { description: 'SIGNING_UNAVAILABLE: `signature` mode needs a signing key; rotate the secret first.' },
    },
    handler: async ({ req, body, log }) => {
      const current = await access.mine(req);
      const patch = {
        ...(body.base_url === undefined ? {} : { baseUrl: body.base_url }),
        ...(body.auth_type === undefined ? {} : { authType: body.auth_type }),
        ...(body.auth_key === undefined ? {} : { authKey: body.auth_key }),
        ...(body.handles_ticket_delivery === undefined ? {} : { handlesTicketDelivery: body.handles_ticket_delivery }),
        ...settingsOf(body),
        budgetLowerOnly: true,
      };
      const updated = await db.integrations.update(current.id, patch, principalOf(req).sub);
      if (!updated) throw noIntegration();
      log.info({ integrationId: updated.id, fields: Object.keys(body), approvalWithdrawn: current.isApproved && !updated.isApproved }, 'integration updated');
      return ok(presentIntegration(updated));
    },
  });
}

function deleteMineRoute({ config, db, redis }: PartnerRoutesDeps, access: IntegrationAccess): RouteSpec {
  const portal = areaSessions(redis, config, 'portal');
  return defineRoute({
    method: 'delete',
    path: `${BASE_PATH}/me`,
    operationId: 'deleteMyIntegration',
    summary: 'Soft-delete the caller’s integration',
    description: 'Webhooks stop answering, its products become inactive, nothing is erased; a new integration may be created. Every portal session of the partner ends.',
    tags: PARTNER,
    auth: 'partner',
    responses: { 200: { description: 'Deleted.', schema: okEnvelope(deletedSchema) } },
    handler: async ({ req, log }) => {
      const current = await access.mine(req);
      if (!(await db.integrations.softDelete(current.id, principalOf(req).sub))) throw noIntegration();
      await portal.revokeAll(principalOf(req).sub);
      log.info({ integrationId: current.id }, 'integration deleted, portal sessions ended');
      return ok({ _id: current.id, deleted: true });
    },
  });
}

function testConnectionRoute(deps: PartnerRoutesDeps, access: IntegrationAccess): RouteSpec {
  return defineRoute({
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
    handler: async ({ req, log }) => ok(await testConnection(deps, await access.mine(req), log)),
  });
}

function rotateMineRoute({ db }: PartnerRoutesDeps, access: IntegrationAccess): RouteSpec {
  return defineRoute({
    ...rotationRoute,
    path: `${BASE_PATH}/me/webhook-secret/rotate`,
    operationId: 'rotateMyWebhookSecret',
    summary: 'Rotate the caller’s webhook secret',
    tags: PARTNER,
    auth: 'partner',
    handler: async ({ req, body, log }) => {
      const { id } = await access.mine(req);
      return rotateSecret(db, { id, actor: principalOf(req).sub, idempotencyKey: req.get('idempotency-key') }, body, log);
    },
  });
}

/** Runs the connection test in a worker and waits for its finding; 503 when none comes back. */
async function testConnection({ config, producer }: PartnerRoutesDeps, integration: Integration, log: Logger): Promise<TestConnectionResult> {
  const job = await producer.enqueue(testConnectionJob, { integrationId: integration.id });
  const outcome = await producer.waitFor<unknown>(job, config.testConnectionWaitMs);
  if (outcome.state === 'completed') {
    const result = testConnectionResultSchema.safeParse(outcome.value);
    if (result.success) return result.data;
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
}

import { z } from 'zod';
import type { Db } from '@octo-sync/db';
import { AppError } from '@octo-sync/platform';
import type { SyncRequests } from '@octo-sync/runs';
import { principalOf } from './auth';
import { driftPolicySchema } from './drift-policy.schema';
import { integrationAccess } from './integration-access';
import { BASE_PATH } from './paths';
import { okEnvelope } from './response-schemas';
import { defineRoute, ok, type RouteSpec } from './route';

const driftStateSchema = z
  .object({
    drift_policy: driftPolicySchema,
    pending: z
      .object({
        hash: z.string().openapi({ description: 'The held shape’s hash (the `content_hash` of its `supplier.drift` feed event).' }),
        since: z.string(),
        drift: z.record(z.string(), z.unknown()).openapi({ description: '`added`, `removed` (`[{path, types}]`), `retyped` (`[{path, from, to}]`), `capabilities` and `headers` (`{added, removed}`).' }),
      })
      .nullable()
      .openapi({ description: 'The shape a `quarantine` or `block` policy holds back until an admin accepts it; null: none.' }),
  })
  .openapi('DriftState');

const acceptedSchema = z.object({ accepted: z.literal(true), run_id: z.string().openapi({ description: 'The sync queued to take the held products.' }) }).openapi('DriftAccepted');

/** The drift watch's routes: the held shape (owner or admin), and its acceptance (admin). */
export function driftRoutes({ db, requests }: { db: Db; requests: SyncRequests }): RouteSpec[] {
  const access = integrationAccess(db);
  return [
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/drift`,
      operationId: 'getIntegrationDrift',
      summary: 'The integration’s drift policy and the catalog shape it holds back, if any',
      tags: ['Owner or admin'],
      auth: 'jwt',
      responses: { 200: { description: 'The drift state.', schema: okEnvelope(driftStateSchema) } },
      handler: async ({ req, params }) => {
        const integration = await access.visible(req, params.id!);
        const pending = await db.shapes.pending(integration.id);
        const held = pending === null ? null : { hash: pending.hash, since: pending.since.toISOString(), drift: pending.drift as Record<string, unknown> };
        return ok({ drift_policy: integration.driftPolicy, pending: held });
      },
    }),
    defineRoute({
      method: 'post',
      path: `${BASE_PATH}/admin/{id}/drift/accept`,
      operationId: 'adminAcceptDrift',
      summary: 'Accept the catalog shape a quarantine or block holds back, and sync',
      description: 'The held shape becomes the accepted one (audit entry `supplier_drift_accepted`) and a sync is queued (trigger admin) that takes the held products.',
      tags: ['Admin'],
      auth: 'admin',
      responses: {
        200: { description: 'Accepted; a sync is queued.', schema: okEnvelope(acceptedSchema) },
        409: { description: 'NO_DRIFT_PENDING: no shape is held back.' },
      },
      handler: async ({ req, params, log }) => {
        const integration = await access.adminTarget(params.id!);
        if (!(await db.shapes.accept(integration.id, principalOf(req).sub))) throw new AppError('NO_DRIFT_PENDING', 'no catalog shape is held back for this integration', { expected: true });
        const { runId } = await requests.request(integration, 'admin', { requestId: req.id });
        log.info({ integrationId: integration.id, runId }, 'supplier drift accepted, sync queued');
        return ok({ accepted: true, run_id: runId });
      },
    }),
  ];
}

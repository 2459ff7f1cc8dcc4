import { z } from 'zod';
import type { Db, LinkOutcome, RemapOutcome, StoredRemapCandidate } from '@octo-sync/db';
import { principalOf } from './auth';
import { ApiError } from './errors';
import { notFound } from './integration-access';
import { BASE_PATH } from './paths';
// Loaded first: it extends zod with `.openapi()`.
import './request-schemas';
import { okEnvelope } from './response-schemas';
import { defineRoute, ok, type RouteSpec } from './route';

/*
 * Stable identity, the admin side: linking a re-created integration to the one it replaces, the
 * remap candidates a sync could not match 1:1, and remapping a product by hand.
 */

const ADMIN = ['Admin'];

const linkBodySchema = z
  .strictObject({ previous: z.string().min(1).max(64).openapi({ format: 'uuid', description: 'The id of the integration this one replaces (usually deleted already).' }) })
  .openapi('LinkIntegrationRequest');

const linkResultSchema = z
  .object({
    previous: z.string(),
    products: z.number().int().openapi({ description: 'Products that took the key of the previous integration’s product of the same OCTO id (so far: products its later syncs create take theirs too).' }),
  })
  .openapi('LinkIntegrationResult');

const remapBodySchema = z
  .strictObject({ to: z.string().min(1).max(255).openapi({ description: 'The OCTO id of the active product that takes the identity.' }) })
  .openapi('RemapProductRequest');

const remapResultSchema = z.object({ key: z.string(), from: z.string(), to: z.string() }).openapi('RemapProductResult');

const remapCandidateSchema = z
  .object({
    from: z.string().openapi({ description: 'The OCTO id of the product that left the catalog.' }),
    reference: z.string().nullable(),
    to: z.array(z.string()).openapi({ description: 'OCTO ids of products that appeared in the same run and might be it (at most 20), less those holding a key they took (a remap into one is refused).' }),
    reason: z.string().openapi({
      description:
        '`ambiguous`: its reference is not unique in one of the catalogs; `no_reference`: nothing to match by; ' +
        '`taken`: the product that appeared with its reference took a linked integration’s key in that run.',
    }),
    run_id: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('RemapCandidate');

const LINK_REFUSALS: Record<Exclude<LinkOutcome['kind'], 'linked'>, () => ApiError> = {
  not_found: notFound,
  previous_not_found: () => new ApiError('LINK_REFUSED', ['previous: no integration of that id']),
  same: () => new ApiError('LINK_REFUSED', ['previous: an integration cannot replace itself']),
  other_partner: () => new ApiError('LINK_REFUSED', ['previous: belongs to another partner; only a partner’s own integrations are linked']),
  already_linked: () => new ApiError('ALREADY_LINKED', ['integration: already linked to the integration it replaces']),
  previous_taken: () => new ApiError('ALREADY_LINKED', ['previous: another integration already took its keys']),
  sync_running: () => new ApiError('SYNC_IN_PROGRESS', ['integration: a catalog sync is running; link once it has finished']),
  busy: () => new ApiError('SYNC_IN_PROGRESS', ['integration: a catalog sync or another identity change holds it; nothing changed, retry shortly'], { headers: { 'Retry-After': '5' } }),
};

const REMAP_REFUSALS: Record<Exclude<RemapOutcome['kind'], 'remapped'>, () => ApiError> = {
  not_found: notFound,
  product_not_found: () => new ApiError('NOT_FOUND', ['product: not found']),
  target_not_found: () => new ApiError('REMAP_REFUSED', ['to: no active product of that id']),
  same: () => new ApiError('REMAP_REFUSED', ['to: is the product itself']),
  source_active: () => new ApiError('PRODUCT_STILL_ACTIVE', ['product: still in the supplier’s catalog; only a product that left can hand its identity on']),
  already_remapped: () => new ApiError('ALREADY_REMAPPED', ['product: its identity was already handed on since it left the catalog']),
  target_taken: () => new ApiError('REMAP_TARGET_TAKEN', ['to: holds the identity of a product it replaced already; remapping another into it would drop that key']),
  busy: () => new ApiError('REMAP_BUSY', ['product: a catalog sync or an availability pull is writing it; nothing moved, retry shortly'], { headers: { 'Retry-After': '5' } }),
};

/** The admin's identity routes. */
export function identityRoutes({ db }: { db: Db }): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: `${BASE_PATH}/admin/{id}/link`,
      operationId: 'adminLinkIntegration',
      summary: 'Link a re-created integration to the one it replaces',
      description:
        'Its products, options and units take the stable keys of the previous integration’s of the same OCTO ids, now and as its later syncs create them ' +
        '(so linking before or after the first sync both work). Same partner only; once per integration and per previous one. Audited as `integration_linked`.',
      tags: ADMIN,
      auth: 'admin',
      body: linkBodySchema,
      responses: {
        200: { description: 'Linked.', schema: okEnvelope(linkResultSchema) },
        404: { description: 'NOT_FOUND: no live integration of that id.' },
        409: { description: 'ALREADY_LINKED: this integration is linked already, or another one took the previous one’s keys. SYNC_IN_PROGRESS: a catalog sync is running, or holds the integration (then with `Retry-After`); retry once it is done.' },
        422: { description: 'LINK_REFUSED: no integration `previous`, the integration itself, or another partner’s.' },
      },
      handler: async ({ req, params, body, log }) => {
        const outcome = await db.identity.link(params.id!, body.previous, principalOf(req).sub);
        if (outcome.kind !== 'linked') throw LINK_REFUSALS[outcome.kind]();
        log.info({ integrationId: params.id, previous: body.previous, products: outcome.products }, 'integration linked to the one it replaces');
        return ok({ previous: body.previous, products: outcome.products });
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/admin/{id}/remaps/candidates`,
      operationId: 'adminListRemapCandidates',
      summary: 'Products a sync could not match 1:1 to a re-keyed one',
      description: 'Each product that left the catalog beside products that appeared without a unique shared `reference`; remap one by hand or leave it removed.',
      tags: ADMIN,
      auth: 'admin',
      responses: { 200: { description: 'The open candidates, by product id.', schema: okEnvelope(z.array(remapCandidateSchema)) } },
      handler: async ({ params }) => {
        const candidates = await db.identity.candidates(params.id!);
        if (candidates === undefined) throw notFound();
        return ok(candidates.map(presentCandidate));
      },
    }),
    defineRoute({
      method: 'post',
      path: `${BASE_PATH}/admin/{id}/products/{productId}/remap`,
      operationId: 'adminRemapProduct',
      summary: 'Hand a removed product’s identity to the product that replaced it',
      description:
        'Product `to` takes the stable key of `{productId}` (a product that left the catalog), its options and units take their counterparts’ keys (by id, else by a unique reference), ' +
        'and the slots move. Audited as `product_remapped`, emits `product.remapped` in the change feed, and clears the remap candidate.',
      tags: ADMIN,
      auth: 'admin',
      body: remapBodySchema,
      responses: {
        200: { description: 'Remapped.', schema: okEnvelope(remapResultSchema) },
        404: { description: 'NOT_FOUND: no live integration, or no product `{productId}`.' },
        409: {
          description:
            'PRODUCT_STILL_ACTIVE: `{productId}` is still in the supplier’s catalog. ALREADY_REMAPPED: its identity was handed on since it left. ' +
            'REMAP_TARGET_TAKEN: `to` already took another product’s identity (a remap, a sync’s re-key or a link); another remap into it would drop that key. ' +
            'REMAP_BUSY: a catalog sync or an availability pull holds the products; nothing moved, retry after `Retry-After` seconds.',
        },
        422: { description: 'REMAP_REFUSED: `to` is no active product, or the product itself.' },
      },
      handler: async ({ req, params, body, log }) => {
        const outcome = await db.identity.remap(params.id!, params.productId!, body.to, principalOf(req).sub);
        if (outcome.kind !== 'remapped') throw REMAP_REFUSALS[outcome.kind]();
        const { key, from, to } = outcome.remap;
        log.info({ integrationId: params.id, from, to }, 'product remapped by an admin');
        return ok({ key, from, to });
      },
    }),
  ];
}

function presentCandidate(c: StoredRemapCandidate): z.output<typeof remapCandidateSchema> {
  return { from: c.from, reference: c.reference, to: c.to, reason: c.reason, run_id: c.run_id, created_at: c.created_at.toISOString() };
}

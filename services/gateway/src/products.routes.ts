import type { Db } from '@octo-sync/db';
import { z } from 'zod';
import { ApiError } from './errors';
import {
  availabilityQuerySchema,
  presentProduct,
  presentProductSummary,
  presentSlot,
  productQuerySchema,
  productsQuerySchema,
  storedProductSchema,
  storedProductWithRawSchema,
  storedSlotSchema,
} from './catalog-read.schemas';
import type { FreshReads } from './fresh-read';
import { integrationAccess } from './integration-access';
import { listReply } from './list-paging';
import { serveProduct } from './localised-read';
import { BASE_PATH } from './paths';
import { listEnvelope, okEnvelope } from './response-schemas';
import { defineRoute, ok, type RouteSpec } from './route';

const READS = ['Owner or admin'];

const freshSlotsEnvelope = listEnvelope(storedSlotSchema).extend({
  fresh: z.boolean().optional().openapi({
    description: 'With `max_age_s` only: whether every slot on the page (on an empty page, the window) was confirmed within `max_age_s`; each slot says when in `confirmed_at`.',
  }),
});

/** What we stored of an integration's catalog and slots, for its owner or an admin (404 for anyone else). */
export function productRoutes({ db, freshReads }: { db: Db; freshReads: FreshReads }): RouteSpec[] {
  const access = integrationAccess(db);
  return [
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/products`,
      operationId: 'listStoredProducts',
      summary: 'The stored products, with their options and units, paginated, in a language (`locale`)',
      tags: READS,
      auth: 'jwt',
      query: productsQuerySchema,
      responses: { 200: { description: 'A page of stored products, ordered by OCTO id.', schema: listEnvelope(storedProductSchema) } },
      handler: async ({ req, params, query }) => {
        const integration = await access.visible(req, params.id!);
        const page = await db.catalogRead.listProducts(integration.id, query);
        const localisations = await db.locales.ofProducts(integration.id, integration.locales, page.items.map((p) => p.id));
        return listReply(page.items.map((p) => presentProductSummary(p, serveProduct(integration, p, localisations, query.locale))), query, page);
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/products/{productId}`,
      operationId: 'getStoredProduct',
      summary: 'One stored product with its raw OCTO JSON as last synced',
      tags: READS,
      auth: 'jwt',
      query: productQuerySchema,
      responses: { 200: { description: 'The stored product.', schema: okEnvelope(storedProductWithRawSchema) } },
      handler: async ({ req, params, query }) => {
        const integration = await access.visible(req, params.id!);
        const product = await db.catalogRead.getProduct(integration.id, params.productId!);
        if (product === undefined) throw new ApiError('NOT_FOUND', ['product: not found']);
        const localisations = await db.locales.ofProducts(integration.id, integration.locales, [product.id]);
        return ok(presentProduct(product, serveProduct(integration, product, localisations, query.locale)));
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/availability`,
      operationId: 'listStoredAvailability',
      summary: 'The stored availability slots, paginated',
      description:
        'Ordered by slot start. Each slot carries the order source and key that decide which change is newer, and the raw OCTO object. ' +
        'With `currency`, only the slots priced in that currency (one of the integration’s `currencies`, else 400), each with its `prices`. ' +
        'With `max_age_s`, slots confirmed longer ago make the read join or ask for a pull of the window and wait for it up to a bound (`FRESH_READ_WAIT_MS`); the answer says `fresh`.',
      tags: READS,
      auth: 'jwt',
      query: availabilityQuerySchema,
      responses: { 200: { description: 'A page of stored slots.', schema: freshSlotsEnvelope } },
      handler: async ({ req, params, query, log }) => {
        const integration = await access.visible(req, params.id!);
        const { productId, from, to, max_age_s: maxAgeS, currency } = query;
        // Prices of a currency no longer listed are stale (no pull asks it any more): not answered.
        if (currency !== undefined && !integration.currencies.includes(currency)) {
          throw new ApiError('VALIDATION_FAILED', [`currency: ${currency} is not one of the integration's currencies (${integration.currencies.join(', ') || 'none listed'})`]);
        }
        if (maxAgeS === undefined || productId === undefined || from === undefined || to === undefined) {
          const page = await db.catalogRead.listSlots(integration.id, query);
          return listReply(page.items.map(presentSlot), query, page);
        }
        // The query schema requires productId, from and to with max_age_s.
        const { page, fresh } = await freshReads.read(integration, { ...query, productId, from, to, maxAgeS }, req.id, log);
        const reply = listReply(page.items.map(presentSlot), query, page);
        return { ...reply, body: { ...(reply.body as object), fresh } };
      },
    }),
  ];
}

import type { Db } from '@octo-sync/db';
import { ApiError } from './errors';
import {
  availabilityQuerySchema,
  presentProduct,
  presentProductSummary,
  presentSlot,
  productsQuerySchema,
  storedProductSchema,
  storedProductWithRawSchema,
  storedSlotSchema,
} from './catalog-read.schemas';
import { integrationAccess } from './integration-access';
import { listReply } from './list-paging';
import { BASE_PATH } from './paths';
import { listEnvelope, okEnvelope } from './response-schemas';
import { defineRoute, ok, type RouteSpec } from './route';

const READS = ['Owner or admin'];

/** What we stored of an integration's catalog and slots, for its owner or an admin (404 for anyone else). */
export function productRoutes({ db }: { db: Db }): RouteSpec[] {
  const access = integrationAccess(db);
  return [
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/products`,
      operationId: 'listStoredProducts',
      summary: 'The stored products, with their options and units, paginated',
      tags: READS,
      auth: 'jwt',
      query: productsQuerySchema,
      responses: { 200: { description: 'A page of stored products, ordered by OCTO id.', schema: listEnvelope(storedProductSchema) } },
      handler: async ({ req, params, query }) => {
        const integration = await access.visible(req, params.id!);
        const page = await db.catalogRead.listProducts(integration.id, query);
        return listReply(page.items.map(presentProductSummary), query, page);
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/products/{productId}`,
      operationId: 'getStoredProduct',
      summary: 'One stored product with its raw OCTO JSON as last synced',
      tags: READS,
      auth: 'jwt',
      responses: { 200: { description: 'The stored product.', schema: okEnvelope(storedProductWithRawSchema) } },
      handler: async ({ req, params }) => {
        const integration = await access.visible(req, params.id!);
        const product = await db.catalogRead.getProduct(integration.id, params.productId!);
        if (product === undefined) throw new ApiError('NOT_FOUND', ['product: not found']);
        return ok(presentProduct(product));
      },
    }),
    defineRoute({
      method: 'get',
      path: `${BASE_PATH}/{id}/availability`,
      operationId: 'listStoredAvailability',
      summary: 'The stored availability slots, paginated',
      description: 'Ordered by slot start. Each slot carries the order source and key that decide which change is newer, and the raw OCTO object.',
      tags: READS,
      auth: 'jwt',
      query: availabilityQuerySchema,
      responses: { 200: { description: 'A page of stored slots.', schema: listEnvelope(storedSlotSchema) } },
      handler: async ({ req, params, query }) => {
        const integration = await access.visible(req, params.id!);
        const page = await db.catalogRead.listSlots(integration.id, query);
        return listReply(page.items.map(presentSlot), query, page);
      },
    }),
  ];
}

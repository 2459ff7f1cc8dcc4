import { z } from 'zod';
import type { ChangeEvent, Db } from '@octo-sync/db';
import { changeCursorRoutes, consumerOf, cursorText } from './change-cursor.routes';
import { changeExportRoute } from './change-export.routes';
import { ApiError } from './errors';
import { okEnvelope } from './response-schemas';
import { defineRoute, ok, type RouteSpec } from './route';

const changesQuerySchema = z.strictObject({
  after: cursorText()
    .optional()
    .openapi({ type: 'string', description: 'The `next` of the previous page; omitted: from the reader’s acknowledged cursor, if it registered one, else from the oldest event kept.' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
});

const changeEventSchema = z
  .object({
    id: z.string().openapi({ description: 'The event’s position; a cursor that resumes after it.' }),
    type: z.string().openapi({ example: 'product.updated' }),
    integration_id: z.string(),
    productId: z.string(),
    optionId: z.string().nullable(),
    unitId: z.string().nullable(),
    availabilityId: z.string().nullable(),
    content_hash: z.string().openapi({
      description: 'The stored row’s content hash; for a slot, of everything kept for it (start, status, vacancies, capacity, raw): a slot event comes only when it changes.',
    }),
    key: z.string().nullable().openapi({
      description: 'The stable key of the product the event names: it survives a supplier re-keying the product (`product.remapped`); null for a product never stored.',
    }),
    from: z.string().optional().openapi({ description: '`product.remapped` only: the OCTO product id before the re-key.' }),
    to: z.string().optional().openapi({ description: '`product.remapped` only: the OCTO product id after the re-key (also `productId`).' }),
    locale: z.string().nullable().openapi({
      description:
        "A content change in one of the integration's other locales (`<entity>.updated` of its localised fields): that locale, `content_hash` then hashing those fields. Null on the catalog rows' own events (the first locale's answer).",
    }),
    at: z.string(),
  })
  .openapi('ChangeEvent');

const changesPageSchema = z.object({ events: z.array(changeEventSchema), next: z.string() }).openapi('ChangesPage');

function presentChange(event: ChangeEvent): z.infer<typeof changeEventSchema> {
  return {
    id: event.position,
    type: event.type,
    integration_id: event.integrationId,
    productId: event.productOctoId,
    optionId: event.optionOctoId,
    unitId: event.unitOctoId,
    availabilityId: event.availabilityId,
    content_hash: event.contentHash,
    key: event.key,
    ...(event.type === 'product.remapped' && event.previousOctoId !== null ? { from: event.previousOctoId, to: event.productOctoId } : {}),
    locale: event.locale,
    at: event.at.toISOString(),
  };
}

/** The change feed, for admins and readers. */
export function changesRoutes({ db }: { db: Db }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/changes',
      operationId: 'getChanges',
      summary: 'The change feed: catalog and slot changes after a cursor, in position order (per entity, in commit order)',
      description:
        'Events product|option|unit.created|updated|removed|restored, product.remapped, slot.changed, slot.closed, with the OCTO ids, the product\'s stable `key` and the content hash. ' +
        'Positions are dense and a transaction\'s events consecutive; the events of one product, option, unit or slot come in the order its writes committed. ' +
        'Store `next` and pass it as `after`: no event is ever missed or reordered. A cursor older than the retention answers 410 CURSOR_EXPIRED; ' +
        'one past the newest position (a cursor this feed never returned) answers 400 CURSOR_AHEAD. ' +
        'A reader that acknowledges positions (POST /api/v1/changes/cursor) may leave `after` out: the read resumes from its cursor.',
      tags: ['Change feed'],
      auth: 'feed',
      query: changesQuerySchema,
      responses: { 200: { description: 'A page of events (empty when nothing is new).', schema: okEnvelope(changesPageSchema) } },
      handler: async ({ req, query }) => {
        const page = await db.changes.read(await startOf(db, consumerOf(req), query.after), query.limit);
        if (page.kind === 'expired') {
          throw new ApiError('CURSOR_EXPIRED', [`after: events after this cursor were pruned (retention); rebuild from GET /api/v1/changes/export and resume from its position`]);
        }
        if (page.kind === 'ahead') {
          throw new ApiError('CURSOR_AHEAD', [`after: is past the newest position of the feed (${page.newest}); this feed never returned it, so resume from a stored cursor or start again without \`after\``]);
        }
        return ok({ events: page.events.map(presentChange), next: page.next });
      },
    }),
    ...changeCursorRoutes({ db }),
    changeExportRoute({ db }),
  ];
}

/** Where a read starts: `after`, else the reader's acknowledged cursor, else the oldest event kept (null). */
async function startOf(db: Db, consumer: string | null, after: string | undefined): Promise<bigint | null> {
  if (after !== undefined) return BigInt(after);
  const cursor = consumer === null ? null : await db.changes.consumers.cursor(consumer);
  return cursor === null ? null : BigInt(cursor.position);
}

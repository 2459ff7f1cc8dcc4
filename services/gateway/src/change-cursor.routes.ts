import type { Request } from 'express';
import { z } from 'zod';
import type { Db } from '@octo-sync/db';
import { principalOf } from './auth';
import { ApiError } from './errors';
import { PG_BIGINT_MAX } from './list-paging';
import { okEnvelope } from './response-schemas';
import { defineRoute, ok, type RouteSpec } from './route';

/** A cursor: the position of the last event read, as decimal text (positions exceed 2^53), at most a Postgres bigint ({@link PG_BIGINT_MAX}). */
export function cursorText() {
  return z
    .string()
    .regex(/^(0|[1-9][0-9]{0,18})$/, 'must be a cursor returned as `next` (decimal digits)')
    .refine((v) => !/^\d+$/.test(v) || BigInt(v) <= PG_BIGINT_MAX, 'must be at most 9223372036854775807 (a cursor returned as `next`)');
}

const CURSOR_PATH = '/api/v1/changes/cursor';
const TAGS = ['Change feed'];

const ackSchema = z
  .strictObject({
    position: cursorText().openapi({ description: 'The `next` of the last page the consumer has processed.' }),
  })
  .openapi('ChangeCursorAck');

const cursorSchema = z
  .object({
    consumer: z.string().openapi({ description: 'The consumer: the reader token’s subject.' }),
    position: z.string().nullable().openapi({ description: 'The acknowledged position; null: not registered (reads without `after` start from the oldest event kept).' }),
    acked_at: z.string().nullable(),
  })
  .openapi('ChangeCursor');

/** The consumer a request reads as: a reader token's subject; other roles have no server-side cursor. */
export function consumerOf(req: Request): string | null {
  const principal = principalOf(req);
  return principal.role === 'reader' ? principal.sub : null;
}

function readerOnly(req: Request): string {
  const consumer = consumerOf(req);
  if (consumer === null) throw new ApiError('FORBIDDEN', ['role: consumer cursors belong to reader tokens (their subject names the consumer)']);
  return consumer;
}

/** Registered consumers: a reader's server-side cursor, acknowledged, shown and removed. */
export function changeCursorRoutes({ db }: { db: Db }): RouteSpec[] {
  const consumers = db.changes.consumers;
  return [
    defineRoute({
      method: 'post',
      path: CURSOR_PATH,
      operationId: 'ackChanges',
      summary: 'Acknowledge a position: the reader’s server-side cursor (registers the consumer)',
      description:
        'The consumer is the reader token’s subject. Once acknowledged, `GET /api/v1/changes` without `after` resumes after this position, ' +
        'and the worker reports the consumer’s lag (positions and seconds behind). A position past the newest answers 400 CURSOR_AHEAD; ' +
        'one behind the retention’s watermark (events after it were pruned) answers 410 CURSOR_EXPIRED and stores nothing: rebuild from the export.',
      tags: TAGS,
      auth: 'feed',
      body: ackSchema,
      responses: { 200: { description: 'The stored cursor.', schema: okEnvelope(cursorSchema) } },
      handler: async ({ req, body }) => {
        const result = await consumers.ack(readerOnly(req), BigInt(body.position));
        if (result.kind === 'ahead') throw new ApiError('CURSOR_AHEAD', [`position: is past the newest position of the feed (${result.newest})`]);
        if (result.kind === 'expired') throw new ApiError('CURSOR_EXPIRED', [`position: events after it were pruned (retention, through ${result.prunedThrough}); rebuild from GET /api/v1/changes/export and acknowledge its position`]);
        return ok({ consumer: result.cursor.name, position: result.cursor.position, acked_at: result.cursor.ackedAt.toISOString() });
      },
    }),
    defineRoute({
      method: 'get',
      path: CURSOR_PATH,
      operationId: 'getChangeCursor',
      summary: 'The reader’s server-side cursor',
      tags: TAGS,
      auth: 'feed',
      responses: { 200: { description: 'The cursor (position null: not registered).', schema: okEnvelope(cursorSchema) } },
      handler: async ({ req }) => {
        const consumer = readerOnly(req);
        const cursor = await consumers.cursor(consumer);
        return ok({ consumer, position: cursor?.position ?? null, acked_at: cursor?.ackedAt.toISOString() ?? null });
      },
    }),
    defineRoute({
      method: 'delete',
      path: CURSOR_PATH,
      operationId: 'deleteChangeCursor',
      summary: 'Unregister the consumer: forget its cursor and its lag',
      description: 'For a consumer taken out of service, whose lag would otherwise alert forever.',
      tags: TAGS,
      auth: 'feed',
      responses: { 200: { description: 'Removed (or was not registered).', schema: okEnvelope(z.object({ consumer: z.string(), removed: z.boolean() })) } },
      handler: async ({ req }) => {
        const consumer = readerOnly(req);
        return ok({ consumer, removed: await consumers.remove(consumer) });
      },
    }),
  ];
}

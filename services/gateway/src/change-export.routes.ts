import { pipeline } from 'node:stream/promises';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { asError } from '@octo-sync/platform';
import type { Db } from '@octo-sync/db';
import { ApiError } from './errors';
import { defineRoute, type RouteSpec } from './route';
import { formatIssues } from './validation';

const EXPORT_PATH = '/api/v1/changes/export';

const exportQuerySchema = z.strictObject({
  integration_id: z.uuid().optional().openapi({ type: 'string', format: 'uuid', description: 'One integration; omitted: every integration.' }),
});

/**
 * `GET /api/v1/changes/export`: the snapshot a consumer rebuilds from (after a 410, or to start),
 * streamed as NDJSON straight from one COPY statement (chunked, never paged through the read API).
 * A mounted handler, since the route step writes whole JSON answers.
 */
export function changeExportRoute({ db }: { db: Db }): RouteSpec {
  const stream: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET' || req.path !== '/') return next(new ApiError('NOT_FOUND', ['path: no such endpoint']));
    const query = exportQuerySchema.safeParse(req.query);
    if (!query.success) return next(new ApiError('VALIDATION_FAILED', formatIssues(query.error.issues, 'query')));
    db.changes.export(query.data.integration_id ?? null).then(
      (lines) => {
        res.status(200).type('application/x-ndjson').setHeader('Cache-Control', 'no-store');
        // Past the first byte an error can only cut the stream: the missing `end` line tells the consumer.
        pipeline(lines, res).catch((err: unknown) => req.log.warn({ err: asError(err).message }, 'snapshot export cut short'));
      },
      next,
    );
    return undefined;
  };
  return defineRoute({
    method: 'get',
    path: EXPORT_PATH,
    operationId: 'exportChanges',
    summary: 'Snapshot export: the current catalog and slots, with the feed position to resume from',
    description:
      'NDJSON, streamed (chunked). Every line is an object with `kind` and `position`: one `snapshot` line, one line per live product, option and unit ' +
      '(OCTO ids, content_hash, and stable keys: `key` the product’s, as on feed events, `optionKey` and `unitKey` on option and unit lines) ' +
      'and per stored slot (ids, start, status, vacancies, capacity, content_hash, its product’s `key` or null), in no particular order, then an ' +
      '`end` line with the number of lines before it (a stream without it was cut short: export again). `position` is the same on every line: ' +
      'read the feed with `after=<position>` and no change is missed (some already in the export may come again; apply them by content_hash). ' +
      'The way back for a consumer whose cursor answered 410 CURSOR_EXPIRED. For admins and readers; a query parameter it does not take answers 400.',
    tags: ['Change feed'],
    auth: 'feed',
    query: exportQuerySchema,
    responses: { 200: { description: 'The snapshot, one JSON object a line.', schema: z.string(), contentType: 'application/x-ndjson' } },
    mount: [stream],
  });
}

import { z } from 'zod';
import type { ListPage } from '@octo-sync/db';
import type { Reply } from './route';

/*
 * Paging of the list routes (their answer's schema is `paginationSchema` in response-schemas.ts): `page`/`pageSize` with a `totalCount` exact up to COUNT_CAP, and
 * keyset paging with `after=<cursor>`. A cursor is opaque to clients: the base64url of the JSON
 * array of the last row's sort key, checked against the list's key shape before any SQL sees it.
 */

/** One part of a sort key: an ISO 8601 instant (or null where the list sorts nulls last), an id, a Postgres integer or bigint. */
export type KeyPart = 'instant' | 'instant?' | 'text' | 'uuid' | 'int' | 'bigint';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** The largest Postgres bigint (2^63 − 1): a cursor part past it would fail its query (500). */
export const PG_BIGINT_MAX = 2n ** 63n - 1n;
const INT_MAX = { int: 2n ** 31n - 1n, bigint: PG_BIGINT_MAX };

/** The cursor of a sort key. */
function encodeCursor(key: readonly (string | null)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function validPart(value: unknown, part: KeyPart): boolean {
  if (value === null) return part === 'instant?';
  if (typeof value !== 'string') return false;
  switch (part) {
    case 'instant':
    case 'instant?':
      // A real instant that Postgres accepts: no 30 February, no year 0 (both would answer 500).
      return ISO_INSTANT.test(value) && !value.startsWith('0000') && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value;
    case 'uuid':
      return UUID.test(value);
    case 'int':
    case 'bigint':
      // Within the column's type: a larger number would fail the query (500), not page.
      return /^\d{1,19}$/.test(value) && BigInt(value) <= INT_MAX[part];
    case 'text':
      // Any string: the store holds ids of any length, "" included, and key parts are bound parameters.
      return true;
  }
}

/** The sort key a cursor carries, or undefined when it is not a cursor of a list of this shape. */
function decodeCursor(cursor: string, shape: readonly KeyPart[]): (string | null)[] | undefined {
  if (!BASE64URL.test(cursor)) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  if (!Array.isArray(key) || key.length !== shape.length) return undefined;
  return key.every((value, i) => validPart(value, shape[i]!)) ? (key as (string | null)[]) : undefined;
}

/** The `after` query parameter of a list whose sort key has this shape; it parses to the key. */
export function afterQuery<K extends readonly (string | null)[]>(shape: readonly KeyPart[]) {
  // No length cap of its own: a cursor is as long as the ids in its key, and the request line is
  // bounded by the HTTP server's header limit (Node's 16 KiB by default, 431 past it).
  return z
    .string()
    .transform((cursor, ctx) => {
      const key = decodeCursor(cursor, shape);
      if (key === undefined) {
        ctx.addIssue({ code: 'custom', message: "is not a cursor of this list (pass a page's pagination.next unchanged)" });
        return z.NEVER;
      }
      return key as unknown as K;
    })
    .optional()
    .openapi({ type: 'string', description: 'Keyset paging: the `pagination.next` of the previous page; the rows after it in this list\'s order. Not with `page` > 1.' });
}

/** Refuses `after` with a page past the first (a query schema's refinement). */
export function keysetNotWithPage(query: { page: number; after?: unknown }, ctx: z.RefinementCtx): void {
  if (query.after !== undefined && query.page > 1) {
    ctx.addIssue({ code: 'custom', path: ['after'], message: 'cannot be combined with page > 1 (keyset paging starts after the cursor)' });
  }
}

/** The 200 answer of a list route: `{success: 1, data, pagination}`. */
export function listReply<K extends readonly (string | null)[]>(data: unknown[], query: { page: number; pageSize: number }, page: ListPage<unknown, K>): Reply {
  const pagination = {
    page: query.page,
    pageSize: query.pageSize,
    totalCount: page.totalCount,
    ...(page.totalCountCapped ? { totalCountCapped: true } : {}),
    next: page.next === null ? null : encodeCursor(page.next),
  };
  return { status: 200, body: { success: 1, data, pagination } };
}

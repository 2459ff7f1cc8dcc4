/**
 * How many rows a list counts exactly. Counting stops at `COUNT_CAP + 1` rows (a `LIMIT` in a
 * subquery), so a page of a huge list never counts the whole table; past the cap `totalCount` is
 * the cap, a lower bound, and `totalCountCapped` is true.
 */
export const COUNT_CAP = 10_000;

/** SQL counting the rows `source` (`FROM … WHERE …`) selects, up to one past the cap (the cap's parameter is `$n`). */
export function cappedCount(source: string, n: number): string {
  return `SELECT count(*)::int AS n FROM (SELECT 1 ${source} LIMIT $${n}) capped`;
}

/**
 * A list request: a 1-based page, or `after`, the sort key of the last row already seen (keyset
 * paging: the next rows in the list's order, whatever was inserted or deleted since).
 */
export interface ListRequest<K> {
  page: number;
  pageSize: number;
  after?: K | undefined;
}

/** One page, the size of the whole filtered list (capped), and the sort key to continue after. */
export interface ListPage<T, K> {
  items: T[];
  totalCount: number;
  /** The list holds more than {@link COUNT_CAP} rows: `totalCount` is only a lower bound. */
  totalCountCapped: boolean;
  /** The sort key of this page's last row when more rows follow it; null at the end of the list. */
  next: K | null;
}

/** Rows to skip: keyset paging starts after its key, never at an offset. */
export function offsetOf(request: ListRequest<unknown>): number {
  return request.after === undefined ? (request.page - 1) * request.pageSize : 0;
}

/**
 * Builds the page from `pageSize + 1` fetched rows (the extra one only tells that more follow) and
 * a count taken with `LIMIT COUNT_CAP + 1`.
 */
export function toListPage<T, K>(rows: readonly T[], pageSize: number, counted: number, keyOf: (row: T) => K): ListPage<T, K> {
  const items = rows.slice(0, pageSize);
  const last = items.at(-1);
  return {
    items,
    totalCount: Math.min(counted, COUNT_CAP),
    totalCountCapped: counted > COUNT_CAP,
    next: rows.length > pageSize && last !== undefined ? keyOf(last) : null,
  };
}

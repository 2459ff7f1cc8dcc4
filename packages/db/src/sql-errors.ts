/**
 * What a Postgres error means for the caller, by SQLSTATE. Listed by class (the first two
 * characters) with the few single codes that differ from their class.
 * - `unavailable`: the database cannot serve us right now (connection lost, starting up or
 *   shutting down, out of resources, failover to a read-only node, a lost serialisation race);
 *   the same request later will work. HTTP answers 503, the queue retries.
 * - `bad-data`: this request's values cannot be stored: any data exception (class 22: a NUL
 *   character, a date Postgres cannot represent, a number out of range, a failed cast), a check
 *   constraint (23514), a value too large (54000); retrying the same values can never work. Such
 *   a value is the change's fault, answered for it alone (HTTP 400, a notify change `rejected`),
 *   never retried: validation should refuse it first, and a value it let through (a bound we had
 *   not thought of, or a bug of ours) shows as a logged warning with its SQLSTATE, never as a queue
 *   retrying a batch shared with other tenants.
 */
export type SqlFailure = 'unavailable' | 'bad-data';

const BY_CODE: Readonly<Record<string, SqlFailure>> = {
  // "invalid message format": how Postgres refuses a NUL byte inside statement text.
  '08P01': 'bad-data',
  '54000': 'bad-data', // program_limit_exceeded: a value too large to store
  '23514': 'bad-data', // check_violation: a value a table's CHECK constraint refuses
  // read_only_sql_transaction: we reached a standby during a failover.
  '25006': 'unavailable',
};

const BY_CLASS: Readonly<Record<string, SqlFailure>> = {
  // data exception: a NUL byte in text (22021) or jsonb (22P05), a year Postgres cannot store
  // (22008, 22007), an integer out of range (22003), a failed cast (22P02)…
  '22': 'bad-data',
  '08': 'unavailable', // connection exception
  '40': 'unavailable', // transaction rollback: serialisation failure, deadlock
  '53': 'unavailable', // insufficient resources: too many connections, disk full, out of memory
  '57': 'unavailable', // operator intervention: admin shutdown, crash shutdown, cannot connect now, query canceled
  '58': 'unavailable', // system error: I/O error
};

/** The SQLSTATE classes we map all start with a digit (which also tells them from `EPIPE` and Prisma's `P2010`). */
const SQLSTATE = /^[0-9][0-9A-Z]{4}$/;

/** The SQLSTATE somewhere in an error's chain: pg's `code`, or Prisma's driver-adapter `originalCode`. */
export function sqlStateOf(error: unknown, depth = 0): string | undefined {
  if (depth > 6 || error === null || typeof error !== 'object') return undefined;
  const e = error as { code?: unknown; originalCode?: unknown; meta?: { driverAdapterError?: unknown }; cause?: unknown };
  for (const candidate of [e.originalCode, e.code]) {
    if (typeof candidate === 'string' && SQLSTATE.test(candidate)) return candidate;
  }
  return sqlStateOf(e.meta?.driverAdapterError, depth + 1) ?? sqlStateOf(e.cause, depth + 1);
}

/**
 * True when the statement's values were refused (class 22, 23514, class 54 or another `bad-data`
 * code): a batch that fails so can be split to find the one row that causes it.
 */
export function isDataException(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state !== undefined && (state.startsWith('54') || classifySqlError(error) === 'bad-data');
}

/** How to treat a failed database call; undefined when it is not a Postgres error we classify. */
export function classifySqlError(error: unknown): SqlFailure | undefined {
  const state = sqlStateOf(error);
  if (state === undefined) return undefined;
  return BY_CODE[state] ?? BY_CLASS[state.slice(0, 2)];
}

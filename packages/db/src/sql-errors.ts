/**
 * What a Postgres error means for the caller, by SQLSTATE. Listed by class (the first two
 * characters) with the few single codes that differ from their class.
 * - `unavailable`: the database cannot serve us right now (connection lost, starting up or
 *   shutting down, out of resources, failover to a read-only node, a lost serialisation race);
 *   the same request later will work. HTTP answers 503, the queue retries.
 * - `bad-data`: this request's values cannot be stored (a NUL character, a value too large);
 *   retrying the same values can never work. Deliberately narrow, because HTTP answers it 400
 *   and blames the body: validation refuses such text before any SQL, so other data exceptions
 *   (22P02 from a cast, 22003 out of range…) raised by a request mean a bug of ours, which must
 *   stay visible (a 500) rather than be blamed on the input. The worker's apply path, whose
 *   statement values are the changes' own, asks {@link isRefusedValue} instead.
 */
export type SqlFailure = 'unavailable' | 'bad-data';

const BY_CODE: Readonly<Record<string, SqlFailure>> = {
  // "invalid message format": how Postgres refuses a NUL byte inside statement text.
  '08P01': 'bad-data',
  '22021': 'bad-data', // character_not_in_repertoire: a NUL byte in a text parameter
  '22P05': 'bad-data', // untranslatable_character: \u0000 inside jsonb
  '54000': 'bad-data', // program_limit_exceeded: a value too large to store
  // read_only_sql_transaction: we reached a standby during a failover.
  '25006': 'unavailable',
};

const BY_CLASS: Readonly<Record<string, SqlFailure>> = {
  '08': 'unavailable', // connection exception
  '40': 'unavailable', // transaction rollback: serialisation failure, deadlock
  '53': 'unavailable', // insufficient resources: too many connections, disk full, out of memory
  '57': 'unavailable', // operator intervention: admin shutdown, crash shutdown, cannot connect now, query canceled
  '58': 'unavailable', // system error: I/O error
};

/** The SQLSTATE classes we map all start with a digit (which also tells them from `EPIPE` and Prisma's `P2010`). */
const SQLSTATE = /^[0-9][0-9A-Z]{4}$/;

interface ChainLink {
  code?: unknown;
  originalCode?: unknown;
  message?: unknown;
  meta?: { driverAdapterError?: unknown };
  cause?: unknown;
}

/** The first answer of `pick` along an error's chain: the error, Prisma's driver-adapter error, then `cause`, six links deep. */
function findInChain<T>(error: unknown, pick: (link: ChainLink) => T | undefined, depth = 0): T | undefined {
  if (depth > 6 || error === null || typeof error !== 'object') return undefined;
  const link = error as ChainLink;
  return pick(link) ?? findInChain(link.meta?.driverAdapterError, pick, depth + 1) ?? findInChain(link.cause, pick, depth + 1);
}

/** The SQLSTATE somewhere in an error's chain: pg's `code`, or Prisma's driver-adapter `originalCode`. */
export function sqlStateOf(error: unknown): string | undefined {
  return findInChain(error, (e) => [e.originalCode, e.code].find((c): c is string => typeof c === 'string' && SQLSTATE.test(c)));
}

/**
 * True when the statement's values were refused (class 22, 23514, class 54 or another `bad-data`
 * code): a batch that fails so can be split to find the one row that causes it.
 */
export function isDataException(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state !== undefined && (state.startsWith('54') || isRefusedValue(error));
}

/**
 * True when Postgres refused a value that a statement wrote for one change alone: any data
 * exception (class 22: a NUL character, a date it cannot represent, a number out of range, a
 * failed cast), a check constraint (23514, but not a row without a partition:
 * {@link isMissingPartition}), or another `bad-data` code. For the worker's apply
 * path, where such a value is that change's fault: answered `rejected` within the attempt, never
 * retried. Not for HTTP, where class 22 from our own SQL is a bug ({@link classifySqlError}).
 */
export function isRefusedValue(error: unknown): boolean {
  const state = sqlStateOf(error);
  if (state === undefined || isMissingPartition(error)) return false;
  return state.startsWith('22') || state === '23514' || classifySqlError(error) === 'bad-data';
}

/**
 * True when a row found no partition of its table (23514 too, but not the value's fault: a slot
 * starting in a month whose partition maintenance has not created yet). The change is right and
 * the database is behind: the job fails and the queue retries it, as for `unavailable`.
 */
export function isMissingPartition(error: unknown): boolean {
  return findInChain(error, (e) => (typeof e.message === 'string' && e.message.includes('no partition of relation') ? true : undefined)) ?? false;
}

/** True when a lock was not granted within `lock_timeout` (SQLSTATE 55P03, lock_not_available): nothing was done, try again later. */
export function isLockNotGranted(error: unknown): boolean {
  return sqlStateOf(error) === '55P03';
}

/** How to treat a failed database call; undefined when it is not a Postgres error we classify. */
export function classifySqlError(error: unknown): SqlFailure | undefined {
  const state = sqlStateOf(error);
  if (state === undefined) return undefined;
  return BY_CODE[state] ?? BY_CLASS[state.slice(0, 2)];
}

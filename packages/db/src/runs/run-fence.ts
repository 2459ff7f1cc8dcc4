import { AppError } from '@octo-sync/platform';
import type { PrismaClient } from '../client';
import type { Prisma, SyncRun } from '../generated/prisma/client';
import { FLIGHT_ROW, flightOf } from './pull-flight';

/** A run lost its fence: another run of its flight started after it (see `SyncRunStore.claim`). */
export class StaleRunError extends AppError {
  constructor() {
    super('STALE_RUN', 'a newer run of this integration (or pull flight) took over; this run wrote nothing');
  }
}

/**
 * The SQL of a run's fenced transaction: typed raw statements on the one connection the
 * transaction holds (a Prisma interactive transaction underneath). It offers nothing but SQL: no
 * COPY (large runs stage their rows before the transaction opens) and no second connection.
 */
export interface RunTx {
  query<R>(sql: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/**
 * A write another store makes in a run's end statement, as a part of its `WITH` list (one round
 * trip fewer in the fenced transaction): a data-modifying statement without `RETURNING`, whose
 * parameters are numbered from `$first`.
 */
export interface StatementPart {
  sql: (first: number) => string;
  values: readonly unknown[];
}

/** What a run's writes are fenced by: the flight it claimed (run-claim.ts). */
export type FencedRun = Pick<SyncRun, 'integrationId' | 'kind' | 'pullScope'>;

/**
 * The row that holds a flight's fence (`fence`, read as text) and how to find it: the
 * integration's for a catalog run, its pull flight's for a pull (`$1`… are `values`).
 */
interface FenceCheck {
  table: string;
  fence: string;
  where: string;
  values: unknown[];
}

/** The fence check of `run`'s flight: the integration's for a catalog run, its pull flight's for a pull. */
export function fenceCheckOf(run: FencedRun): FenceCheck {
  return run.kind === 'availability_pull'
    ? { table: 'pull_flights', fence: 'fence', where: FLIGHT_ROW, values: [run.integrationId, flightOf(run)] }
    : { table: 'integrations', fence: 'sync_fence', where: 'id = $1::uuid', values: [run.integrationId] };
}

/**
 * Locks the check's row and reads its fence. FOR NO KEY UPDATE, not FOR UPDATE: a pull's writes
 * (rows whose foreign key names the integration take its KEY SHARE lock) must not wait for a
 * catalog run's transaction.
 */
export function fenceLockSql(check: FenceCheck): string {
  return `SELECT ${check.fence}::text AS fence FROM ${check.table} WHERE ${check.where} FOR NO KEY UPDATE`;
}

// The fenced transaction's first statement: the deadline, then the fence's row lock. The deadline
// bounds every later statement in Postgres (statement_timeout, local to the transaction) and this
// one's wait for the row lock (lock_timeout): Postgres arms a statement's timeout when the
// statement starts, so a statement_timeout set here would not bound this statement, but it reads
// lock_timeout when a lock wait begins, and the settings are made in a CTE the locked row is
// joined to (its columns, s and l, name nothing of the row's table), so before the row can reach
// the lock. One round trip, where a statement of its own
// for the deadline made two: each is a wait with the session idle in transaction (bench:fleet's
// idleInTransactionAfter counted one such wait after the deadline in every run).
function deadlineAndFenceSql(check: FenceCheck): string {
  const ms = `$${check.values.length + 1}`;
  return `WITH deadline AS MATERIALIZED (SELECT set_config('statement_timeout', ${ms}, true) AS s, set_config('lock_timeout', ${ms}, true) AS l)
SELECT ${check.fence}::text AS fence FROM deadline, ${check.table} WHERE ${check.where} FOR NO KEY UPDATE OF ${check.table}`;
}

/**
 * The one way a run writes: a Prisma interactive transaction that first takes the row lock of the
 * run's flight (`check`, {@link fenceCheckOf}) and checks that `fence` is still current, then runs
 * `fn`, and commits. Anything thrown, a stale fence ({@link StaleRunError}) or the deadline
 * (`timeoutMs`, for each statement and for the whole) rolls it all back. The transaction waits up
 * to `timeoutMs` for a pooled connection. `fn` holds only SQL: it never asks the pool for another
 * connection (`guardTransactions` makes every interactive transaction a holder, see `holdingConnection`).
 */
export function inFencedTransaction<T>(prisma: PrismaClient, check: FenceCheck, fence: bigint, timeoutMs: number, fn: (tx: RunTx) => Promise<T>): Promise<T> {
  return prisma.$transaction(
    async (client) => {
      const tx = runTx(client);
      const { rows } = await tx.query<{ fence: string }>(deadlineAndFenceSql(check), [...check.values, String(timeoutMs)]);
      const current = rows[0]?.fence;
      if (current === undefined || BigInt(current) !== fence) throw new StaleRunError();
      return fn(tx);
    },
    { timeout: timeoutMs, maxWait: timeoutMs },
  );
}

function runTx(client: Prisma.TransactionClient): RunTx {
  return {
    async query<R>(sql: string, values: readonly unknown[] = []) {
      return { rows: await client.$queryRawUnsafe<R[]>(sql, ...values) };
    },
  };
}

import { AppError } from '@octo-sync/platform';
import type { PrismaClient } from '../client';
import type { Prisma } from '../generated/prisma/client';

/** A run lost its fence: another run of the same integration started after it (see `SyncRunStore.claim`). */
export class StaleRunError extends AppError {
  constructor() {
    super('STALE_RUN', 'a newer run of this integration took over; this run wrote nothing');
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

// The deadline bounds each statement in Postgres (statement_timeout, local to the transaction),
// the fence check's wait for the row lock included, as well as the whole transaction (Prisma's
// timeout, which does not interrupt a statement). It is set by a statement of its own: Postgres
// arms a statement's timeout when the statement starts, so set in the FOR UPDATE itself it
// would not bound that statement's lock wait.
const DEADLINE = `SELECT set_config('statement_timeout', $1, true) AS timeout`;
const FENCE = `SELECT sync_fence::text AS sync_fence FROM integrations WHERE id = $1::uuid FOR UPDATE`;

/**
 * The one way a run writes: a Prisma interactive transaction that first takes the integration's
 * row lock and checks that `fence` is still current, then runs `fn`, and commits. Anything thrown,
 * a stale fence ({@link StaleRunError}) or the deadline (`timeoutMs`, for each statement and for
 * the whole) rolls it all back. The transaction waits up to `timeoutMs` for a pooled connection.
 * `fn` holds only SQL: it never asks the pool for another connection (`guardTransactions` makes
 * every interactive transaction a holder, see `holdingConnection`).
 */
export function inFencedTransaction<T>(prisma: PrismaClient, integrationId: string, fence: bigint, timeoutMs: number, fn: (tx: RunTx) => Promise<T>): Promise<T> {
  return prisma.$transaction(
    async (client) => {
      const tx = runTx(client);
      await tx.query(DEADLINE, [String(timeoutMs)]);
      const { rows } = await tx.query<{ sync_fence: string }>(FENCE, [integrationId]);
      const current = rows[0]?.sync_fence;
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

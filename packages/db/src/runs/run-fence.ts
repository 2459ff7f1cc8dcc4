import { AppError } from '@octo-sync/platform';
import type { PrismaClient } from '../client';
import type { Prisma, SyncRun } from '../generated/prisma/client';
import { FLIGHT_FENCE, flightOf } from './pull-flight';

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

// The deadline bounds each statement in Postgres (statement_timeout, local to the transaction),
// the fence check's wait for the row lock included, as well as the whole transaction (Prisma's
// timeout, which does not interrupt a statement). It is set by a statement of its own: Postgres
// arms a statement's timeout when the statement starts, so set in the row lock's statement itself it
// would not bound that statement's lock wait.
const DEADLINE = `SELECT set_config('statement_timeout', $1, true) AS timeout`;
// FOR NO KEY UPDATE, not FOR UPDATE: a pull's writes (rows whose foreign key names the
// integration take its KEY SHARE lock) must not wait for a catalog run's transaction.
const FENCE = `SELECT sync_fence::text AS fence FROM integrations WHERE id = $1::uuid FOR NO KEY UPDATE`;

/** What a run's writes are fenced by: the flight it claimed (run-claim.ts). */
export type FencedRun = Pick<SyncRun, 'integrationId' | 'kind' | 'pullScope'>;

/** A statement that locks a flight's row and reads its fence (as `fence`, text). */
interface FenceCheck {
  sql: string;
  values: unknown[];
}

/** The fence check of `run`'s flight: the integration's for a catalog run, its pull flight's for a pull. */
export function fenceCheckOf(run: FencedRun): FenceCheck {
  return run.kind === 'availability_pull' ? { sql: FLIGHT_FENCE, values: [run.integrationId, flightOf(run)] } : { sql: FENCE, values: [run.integrationId] };
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
      await tx.query(DEADLINE, [String(timeoutMs)]);
      const { rows } = await tx.query<{ fence: string }>(check.sql, check.values);
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

import { AsyncLocalStorage } from 'node:async_hooks';
import { AppError } from '@octo-sync/platform';
import type { Pool } from 'pg';
import type { PrismaClient } from './generated/prisma/client';

/**
 * Code that holds a pooled connection (a fenced run transaction, a Prisma interactive
 * transaction) asked the pool for another one. With as many such holders as the pool has
 * connections, each would wait for a connection only another holder can free: the pool deadlocks.
 * Thrown at once instead, whatever the pool's size, so that tests see it on the first run.
 */
export class NestedCheckoutError extends AppError {
  constructor() {
    super('NESTED_CHECKOUT', 'asked the pool for a second connection while holding one: use the connection held (or read before the transaction opens)');
  }
}

/** The transaction the current async context is inside, until it ends. */
interface Holding {
  open: boolean;
}

const holding = new AsyncLocalStorage<Holding>();

/**
 * Runs `fn` as the holder of a pooled connection: until it settles, a checkout asked for from
 * inside it (directly or by anything it starts) throws {@link NestedCheckoutError}. Work it left
 * running afterwards is no longer a holder.
 */
async function holdingConnection<T>(fn: () => Promise<T>): Promise<T> {
  const held: Holding = { open: true };
  try {
    return await holding.run(held, fn);
  } finally {
    held.open = false;
  }
}

/**
 * Makes `pool` refuse a checkout from inside {@link holdingConnection}. `pool.query` checks out
 * through `connect` as well, and so does Prisma (its adapter runs on this pool).
 */
export function guardPool(pool: Pool): void {
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  const guarded = (...args: unknown[]): unknown => {
    if (holding.getStore()?.open !== true) return connect(...args);
    const refused = new NestedCheckoutError();
    const callback = args[0];
    if (typeof callback !== 'function') return Promise.reject(refused);
    (callback as (err: Error) => void)(refused);
    return undefined;
  };
  Object.assign(pool, { connect: guarded });
}

/** Runs every interactive transaction of `prisma` inside {@link holdingConnection}; batch transactions hold one connection and need nothing. */
export function guardTransactions(prisma: PrismaClient): void {
  const start = prisma.$transaction.bind(prisma) as (arg: unknown, options?: unknown) => Promise<unknown>;
  const guarded = (arg: unknown, options?: unknown): Promise<unknown> => {
    if (typeof arg !== 'function') return start(arg, options);
    const fn = arg as (tx: unknown) => Promise<unknown>;
    return start((tx: unknown) => holdingConnection(() => fn(tx)), options);
  };
  Object.assign(prisma, { $transaction: guarded });
}

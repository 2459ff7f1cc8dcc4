import type { Logger } from '@octo-sync/platform';
import type { Pool } from 'pg';

/** This process's pool beside the connections Postgres accepts. */
export interface PoolBudget {
  /** `max_connections`. */
  maxConnections: number;
  /** Slots only superusers (and, from Postgres 16, `pg_use_reserved_connections`) may take. */
  reserved: number;
  /** `maxConnections - reserved`: what every gateway and worker together may hold. */
  usable: number;
  poolSize: number;
  /** `poolSize / usable`. */
  share: number;
}

const READ_LIMITS = `
SELECT current_setting('max_connections')::int AS "maxConnections",
  current_setting('superuser_reserved_connections')::int + COALESCE(current_setting('reserved_connections', true), '0')::int AS reserved`;

/**
 * Why a worker's catalog concurrency does not fit its pool, or null when it does. A catalog run
 * holds one pooled connection for its fenced transaction and, while it holds it, borrows a second
 * one for reads: with as many runs as connections, every run can hold one and wait for another
 * until the write timeout. Below the pool size, one connection is always left for a second
 * borrow. Availability jobs and pulls take one connection at a time and do not count.
 */
export function catalogPoolProblem(settings: { workerConcurrency: number; poolSize: number }): string | null {
  if (settings.workerConcurrency < settings.poolSize) return null;
  return 'must be below DB_POOL_SIZE: a catalog run holds two pooled connections at once, so WORKER_CONCURRENCY >= DB_POOL_SIZE can deadlock the pool';
}

/** Reads `max_connections` and the reserved slots, and puts `poolSize` beside them. */
async function readPoolBudget(pool: Pool, poolSize: number): Promise<PoolBudget> {
  const { rows } = await pool.query<{ maxConnections: number; reserved: number }>(READ_LIMITS);
  const { maxConnections, reserved } = rows[0]!;
  const usable = Math.max(1, maxConnections - reserved);
  return { maxConnections, reserved, usable, poolSize, share: poolSize / usable };
}

/**
 * At start-up: warns when this process's pool alone could take more than `maxShare` of the
 * connections Postgres accepts, since every gateway and worker holds up to its own pool (the sum
 * of `DB_POOL_SIZE` over all processes must stay below `usable`). Never fails the start: Postgres
 * may be down for now, which readiness already reports; then it says so and returns null.
 */
export async function checkPoolBudget(pool: Pool, settings: { poolSize: number; maxShare: number }, log: Logger): Promise<PoolBudget | null> {
  let budget: PoolBudget;
  try {
    budget = await readPoolBudget(pool, settings.poolSize);
  } catch (err) {
    log.warn({ err }, 'could not read max_connections to check DB_POOL_SIZE');
    return null;
  }
  if (budget.share > settings.maxShare) {
    log.warn({ ...budget, maxShare: settings.maxShare, processesThatFit: Math.floor(budget.usable / budget.poolSize) }, 'DB_POOL_SIZE is a large share of max_connections: the processes together may exhaust it');
  }
  return budget;
}

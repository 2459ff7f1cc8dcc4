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
 * Why this process's runs may wait for a pooled connection, or null when they never do. No code
 * path waits for a second connection while it holds one (see `holdingConnection`), so no setting
 * deadlocks the pool. Each catalog run and each pull holds at most one connection at a time: with
 * more of them than connections, a run waits for one that a committing run frees (and the
 * availability writes, health probes and schedules wait behind them). Availability jobs do not
 * count: their changes are batched into a few statements, whatever `AVAILABILITY_CONCURRENCY` is.
 */
export function poolContention(settings: { runs: number; poolSize: number }): string | null {
  if (settings.runs <= settings.poolSize) return null;
  return 'WORKER_CONCURRENCY + PULL_CONCURRENCY is above DB_POOL_SIZE: runs will wait for a pooled connection (slower, never deadlocked)';
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
 * of `DB_POOL_SIZE` over all processes must stay below `usable`), and when `runs` (the runs that
 * may each hold a connection at once) exceed the pool ({@link poolContention}). Never fails the start: Postgres
 * may be down for now, which readiness already reports; then it says so and returns null.
 */
export async function checkPoolBudget(pool: Pool, settings: { poolSize: number; maxShare: number; runs?: number }, log: Logger): Promise<PoolBudget | null> {
  const contention = settings.runs === undefined ? null : poolContention({ runs: settings.runs, poolSize: settings.poolSize });
  if (contention !== null) log.warn({ runs: settings.runs, poolSize: settings.poolSize }, contention);
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

import { connectionFailureCode, dependencyTarget, type DependencyTarget, type Logger } from '@octo-sync/platform';
import type { Pool } from 'pg';

/** Why Postgres could not be used at all, told to a person: which, where, why and what to do. */
export interface PostgresFailure extends DependencyTarget {
  /** A constant sentence: the log line's message. */
  problem: string;
  /** The network code (`ECONNREFUSED`…) or the SQLSTATE. */
  code: string;
}

/**
 * What a failure to use the Postgres at `databaseUrl` means, or undefined when it is not one of
 * the start-up failures a person can act on: nothing answers there, the database it names does
 * not exist yet, or the server refused the credentials. Never carries the credentials.
 */
export function describePostgresFailure(err: unknown, databaseUrl: string): PostgresFailure | undefined {
  const target = dependencyTarget('postgres', 'DATABASE_URL', databaseUrl);
  const network = connectionFailureCode(err);
  if (network !== undefined) return { ...target, problem: 'postgres unreachable', code: network };
  const sqlState = (err as { code?: unknown } | null)?.code;
  if (sqlState === '3D000') return { ...target, problem: 'database does not exist', code: sqlState, hint: 'run `npm run db:migrate` (it creates the database and its tables), or set DATABASE_URL to an existing one' };
  if (sqlState === '28P01' || sqlState === '28000') return { ...target, problem: 'postgres refused the credentials', code: sqlState, hint: 'check the user and password in DATABASE_URL' };
  return undefined;
}

/**
 * At start-up: whether Postgres answers. When it does not, says so once (which variable, where
 * it points, what to do) and returns false; the process keeps running and uses Postgres once it
 * answers (readiness reports it meanwhile).
 */
export async function checkPostgres(pool: Pool, databaseUrl: string, log: Logger): Promise<boolean> {
  try {
    await pool.query('SELECT 1');
    return true;
  } catch (err) {
    const failure = describePostgresFailure(err, databaseUrl);
    if (failure === undefined) {
      log.warn({ err }, 'postgres check failed at start-up');
    } else {
      const { problem, ...fields } = failure;
      log.warn(fields, problem);
    }
    return false;
  }
}

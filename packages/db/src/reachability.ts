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

/** A start-up step waiting for Postgres: see {@link whenPostgresAnswers}. */
export interface PostgresWait {
  /** Settles after the first try (and, when Postgres answered it, after the step). */
  readonly firstAttempt: Promise<void>;
  /** Gives up waiting (at shutdown); a step already running finishes. */
  stop(): void;
}

/**
 * At start-up: runs `step` (a check that needs Postgres, such as the pool budget) once Postgres
 * answers. The first try says why when it does not ({@link checkPostgres}); then it tries again,
 * quietly, every `retryMs` in the background, so a process started while Postgres was down still
 * runs the step when it comes back. `step` must not throw (its failure is logged if it does).
 */
export function whenPostgresAnswers(pool: Pool, databaseUrl: string, log: Logger, step: () => Promise<unknown>, retryMs = 5_000): PostgresWait {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const answers = (first: boolean) => (first ? checkPostgres(pool, databaseUrl, log) : pool.query('SELECT 1').then(() => true, () => false));
  const attempt = async (first: boolean): Promise<void> => {
    const up = await answers(first);
    if (stopped) return;
    if (up) {
      if (!first) log.info('postgres answers now: running the start-up checks that waited for it');
      await step();
      return;
    }
    timer = setTimeout(() => void attempt(false).catch((err: unknown) => log.warn({ err }, 'start-up check failed')), retryMs);
    timer.unref();
  };
  return {
    firstAttempt: attempt(true),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

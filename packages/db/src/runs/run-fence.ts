import { AppError, asError } from '@octo-sync/platform';
import type { Pool, PoolClient } from 'pg';
import { holdingConnection } from '../checkout-guard';

/** A run lost its fence: another run of the same integration started after it (see `SyncRunStore.claim`). */
export class StaleRunError extends AppError {
  constructor() {
    super('STALE_RUN', 'a newer run of this integration took over; this run wrote nothing');
  }
}

/**
 * The one way a run writes: on a raw connection of `pool` (the catalog writer needs one for COPY),
 * BEGIN, the integration's row lock and the check that `fence` is still current, `fn`, COMMIT.
 * Anything thrown, a stale fence ({@link StaleRunError}) or the deadline rolls it all back.
 * `fn` uses `client` only: it never asks the pool for another connection (see `holdingConnection`).
 */
export async function inFencedTransaction<T>(pool: Pool, integrationId: string, fence: bigint, timeoutMs: number, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // Set once the connection cannot be trusted: Postgres closed it (an 'error' event, which would
  // end the process if nobody listened), the deadline passed mid-statement, or ROLLBACK failed.
  // Released with it, the client is closed by the pool, and closing rolls back what was open.
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await client.query('BEGIN');
    // The deadline bounds each statement in Postgres as well as the whole transaction here.
    await client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(timeoutMs)]);
    const rows = await client.query<{ sync_fence: string }>('SELECT sync_fence::text FROM integrations WHERE id = $1::uuid FOR UPDATE', [integrationId]);
    const current = rows.rows[0]?.sync_fence;
    if (current === undefined || BigInt(current) !== fence) throw new StaleRunError();
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const exceeded = new Error(`run write transaction exceeded ${timeoutMs} ms`);
        broken ??= exceeded;
        reject(exceeded);
      }, timeoutMs);
    });
    const result = await Promise.race([holdingConnection(() => fn(client)), deadline]);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (broken === undefined) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = asError(rollbackError);
      }
    }
    throw err;
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
    client.release(broken);
  }
}

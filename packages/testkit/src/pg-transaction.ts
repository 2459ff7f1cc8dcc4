import type { Pool, PoolClient } from 'pg';

/** `fn` on one pooled connection inside BEGIN … COMMIT (ROLLBACK when it throws), as a caller's transaction would hold it. */
export async function inPgTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

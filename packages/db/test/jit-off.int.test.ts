import { Client } from 'pg';
import { migrate } from '@octo-sync/db';
import { databaseUrl, dropDatabase, uniqueDatabaseName } from '@octo-sync/testkit';

/**
 * JIT is off for the database itself once migrated, not only for the pool that asks for it in its
 * start-up packet: a transaction-mode PgBouncer refuses or drops that packet option.
 */
describe('migration: jit off for the database', () => {
  const name = uniqueDatabaseName();
  afterAll(async () => {
    await dropDatabase(name);
  });

  it('a session that asks for nothing runs with jit off', async () => {
    await migrate({ databaseUrl: databaseUrl(name) });
    const client = new Client({ connectionString: databaseUrl(name) });
    await client.connect();
    try {
      expect((await client.query<{ jit: string }>('SHOW jit')).rows[0]!.jit).toBe('off');
    } finally {
      await client.end();
    }
  });
});

import { createDb, classifySqlError, type Db } from '@octo-sync/db';
import { createTestDatabase, waitFor, type TestDatabase } from '@octo-sync/testkit';

/** The classification against the errors a real Postgres gives, through Prisma and through pg. */
describe('classifySqlError on real Postgres errors', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'sql-errors-test-key' });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const failure = async (run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (err) {
      return classifySqlError(err);
    }
    throw new Error('expected the statement to fail');
  };

  test('NUL in jsonb and in text is bad data, through Prisma and through pg', async () => {
    expect(await failure(() => db.prisma.$queryRawUnsafe('SELECT $1::jsonb', JSON.stringify({ a: 'x\u0000' })))).toBe('bad-data');
    expect(await failure(() => db.pool.query('SELECT $1::text', ['x\u0000']))).toBe('bad-data');
  });

  test('a cast that fails is not blamed on the input (validation refuses lone surrogates before SQL)', async () => {
    expect(await failure(() => db.prisma.$queryRawUnsafe('SELECT $1::jsonb', JSON.stringify({ a: '\ud800' })))).toBeUndefined();
    expect(await failure(() => db.pool.query(`SELECT 'x'::integer`))).toBeUndefined();
  });

  test('a backend terminated mid-statement is a dependency being away', async () => {
    const client = await db.pool.connect();
    // The client also emits the termination as an event; unheard, it would crash the test process.
    const clientErrors: Error[] = [];
    client.on('error', (err) => clientErrors.push(err));
    try {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = rows[0]!.pid;
      const sleeping = failure(() => client.query('SELECT pg_sleep(60)'));
      // Terminate only once the statement is running, so the answer is Postgres's 57P01.
      await waitFor('the sleep to run', async () => (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [pid])).rowCount === 1);
      await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
      expect(await sleeping).toBe('unavailable');
    } finally {
      client.release(true);
    }
  });
});

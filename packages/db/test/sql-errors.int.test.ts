import { createDb, classifySqlError, isDataException, isMissingPartition, isRefusedValue, type Db } from '@octo-sync/db';
import { createTestDatabase, createTestIntegration, waitFor, type TestDatabase } from '@octo-sync/testkit';

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

  const refused = async (run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (err) {
      return isRefusedValue(err);
    }
    throw new Error('expected the statement to fail');
  };

  const uncastable: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
    ['a lone surrogate in jsonb', () => db.prisma.$queryRawUnsafe('SELECT $1::jsonb', JSON.stringify({ a: '\ud800' }))],
    ['a failed cast', () => db.pool.query(`SELECT 'x'::integer`)],
    ['year 0000', () => db.pool.query('SELECT $1::timestamptz', ['0000-06-01T10:00:00.000Z'])],
    ['year 10000', () => db.pool.query('SELECT $1::timestamptz', [new Date(Date.UTC(10000, 0, 1)).toISOString()])],
    ['an integer out of range', () => db.pool.query('SELECT $1::integer', [3_000_000_000])],
  ];

  test.each(uncastable)('for HTTP, %s from our own SQL is a bug (a 500), not the body\'s fault', async (_, run) => {
    expect(await failure(run)).toBeUndefined();
  });

  test.each(uncastable)('for the apply path, %s is the change\'s value refused: rejected, never retried', async (_, run) => {
    expect(await refused(run)).toBe(true);
  });

  test('a CHECK constraint refusing a value: refused for the apply path, a bug for HTTP (23514)', async () => {
    await db.pool.query('CREATE DOMAIN non_negative AS integer CHECK (VALUE >= 0)');
    expect(await refused(() => db.pool.query('SELECT $1::non_negative', [-1]))).toBe(true);
    expect(await failure(() => db.pool.query('SELECT $1::non_negative', [-1]))).toBeUndefined();
  });

  test('a slot in a month with no partition is the database behind, not the change: not refused, so the job fails and is retried', async () => {
    const integrationId = await createTestIntegration(db);
    const start = '2099-03-01T09:00:00+00:00';
    const change = { integration_id: integrationId, product_octo_id: 'P', option_octo_id: 'O', availability_id: 'far', local_date_time_start: start, starts_at: start,
      status: 'AVAILABLE', vacancies: 1, capacity: 1, order_key: '1', order_source: 'received_at' as const, received_key: '1', raw: null };
    const err: unknown = await db.availability.apply([[change]]).then(() => undefined, (e: unknown) => e);
    expect(err).toBeDefined();
    expect(isMissingPartition(err)).toBe(true);
    expect(isRefusedValue(err)).toBe(false);
    expect(isDataException(err)).toBe(false);
    // A genuine check violation stays refused.
    expect(await refused(() => db.pool.query('SELECT $1::non_negative', [-1]))).toBe(true);
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

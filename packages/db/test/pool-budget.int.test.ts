import { Writable } from 'node:stream';
import { checkPoolBudget, createDb, type Db } from '@octo-sync/db';
import { createLogger } from '@octo-sync/platform';
import { createTestDatabase, databaseUrl, uniqueDatabaseName, type TestDatabase } from '@octo-sync/testkit';

/** A logger whose lines the test reads back. */
function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ name: 'pool-budget-test', level: 'info', destination }), lines };
}

describe('checkPoolBudget: the pool beside max_connections', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'pool-budget-test-key', poolSize: 2 });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('reads the limit Postgres has and stays quiet for a pool within its share', async () => {
    const { rows } = await db.pool.query<{ max_connections: string }>('SHOW max_connections');
    const { log, lines } = capturingLogger();
    const budget = await checkPoolBudget(db.pool, { poolSize: 10, maxShare: 0.25 }, log);
    expect(budget?.maxConnections).toBe(Number(rows[0]!.max_connections));
    expect(budget!.usable).toBe(budget!.maxConnections - budget!.reserved);
    expect(budget!.share).toBeCloseTo(10 / budget!.usable);
    expect(lines).toEqual([]);
  });

  it('warns, with the figures, when one process could take more than its share', async () => {
    const { log, lines } = capturingLogger();
    const budget = await checkPoolBudget(db.pool, { poolSize: 60, maxShare: 0.25 }, log);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', msg: expect.stringContaining('DB_POOL_SIZE'), poolSize: 60, maxShare: 0.25, usable: budget!.usable, processesThatFit: Math.floor(budget!.usable / 60) }),
    ]);
  });

  it('warns, without failing, when the runs that each hold a connection outnumber the pool, and not at its size', async () => {
    const quiet = capturingLogger();
    await checkPoolBudget(db.pool, { poolSize: 10, maxShare: 0.25, runs: 10 }, quiet.log);
    expect(quiet.lines).toEqual([]);
    const { log, lines } = capturingLogger();
    expect(await checkPoolBudget(db.pool, { poolSize: 10, maxShare: 0.25, runs: 11 }, log)).not.toBeNull();
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringContaining('PULL_CONCURRENCY'), runs: 11, poolSize: 10 })]);
  });

  it('says so, and does not fail the start, when Postgres cannot be asked', async () => {
    // A database that does not exist: the server refuses the connection.
    const unreachable = createDb({ databaseUrl: databaseUrl(uniqueDatabaseName()), secretsKey: 'pool-budget-test-key', poolSize: 1 });
    const { log, lines } = capturingLogger();
    try {
      expect(await checkPoolBudget(unreachable.pool, { poolSize: 10, maxShare: 0.25 }, log)).toBeNull();
    } finally {
      await unreachable.close();
    }
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'could not read max_connections to check DB_POOL_SIZE' })]);
  });
});

import { createDb, NestedCheckoutError, type Db } from '@octo-sync/db';
import { claimedTestRun, createTestDatabase, type TestDatabase } from '@octo-sync/testkit';

/**
 * A transaction never waits for a second pooled connection: asking for one while holding one is
 * refused at once (on a pool of one it would otherwise wait forever), and nothing else is.
 */
describe('the checkout guard', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'checkout-guard-test-key', poolSize: 1 });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const claimedRun = () => claimedTestRun(db);

  test('a fenced transaction that asks the pool (or Prisma) for another connection fails with NESTED_CHECKOUT and rolls back', async () => {
    const { integration, fence, run } = await claimedRun();
    const write = (second: () => Promise<unknown>) =>
      db.runs.withFence(integration.id, fence, async (client) => {
        await client.query(`UPDATE sync_runs SET synced = 99 WHERE id = $1::uuid`, [run.id]);
        return second();
      }, 5_000);
    await expect(write(() => db.pool.query('SELECT 1'))).rejects.toBeInstanceOf(NestedCheckoutError);
    await expect(write(() => db.pool.connect())).rejects.toMatchObject({ code: 'NESTED_CHECKOUT' });
    await expect(write(() => db.runs.findRun(run.id))).rejects.toMatchObject({ code: 'NESTED_CHECKOUT' });
    expect((await db.runs.findRun(run.id))?.synced).not.toBe(99);
  });

  test('a Prisma interactive transaction that asks for another connection fails the same way', async () => {
    const { integration } = await claimedRun();
    const nested = db.prisma.$transaction(async (tx) => {
      await tx.integration.findUniqueOrThrow({ where: { id: integration.id } });
      return db.prisma.integration.findUniqueOrThrow({ where: { id: integration.id } });
    });
    await expect(nested).rejects.toMatchObject({ code: 'NESTED_CHECKOUT' });
    const inner = db.prisma.$transaction(async () => db.prisma.$transaction(async (tx) => tx.integration.count()));
    await expect(inner).rejects.toMatchObject({ code: 'NESTED_CHECKOUT' });
  });

  test('the connection held, batch transactions, and work a transaction leaves running after it ends are not refused', async () => {
    const { integration, fence, run } = await claimedRun();
    let later: Promise<unknown> = Promise.resolve();
    const finished = await db.runs.withFence(integration.id, fence, async (client) => {
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      // Started here, it asks for a connection only once the transaction has ended.
      later = new Promise((resolve) => setImmediate(resolve)).then(() => db.runs.findRun(run.id));
      return rows[0]?.one;
    }, 5_000);
    expect(finished).toBe(1);
    await expect(later).resolves.toMatchObject({ id: run.id });
    const [count] = await db.prisma.$transaction([db.prisma.integration.count()]);
    expect(count).toBeGreaterThan(0);
  });
});

import { Client } from 'pg';
import { createDb, whenPostgresAnswers, type Db } from '@octo-sync/db';
import { capturingLogger, DATABASE_SERVER_URL, databaseUrl, dropDatabase, templateDatabase, uniqueDatabaseName, waitFor } from '@octo-sync/testkit';

/** A start-up check that needs Postgres (the pool budget) runs once Postgres answers, not only when it did at start-up. */
describe('whenPostgresAnswers', () => {
  const name = uniqueDatabaseName();
  let db: Db;
  beforeAll(() => {
    db = createDb({ databaseUrl: databaseUrl(name), secretsKey: 'reachability-test-key', poolSize: 1 });
  });
  afterAll(async () => {
    await db?.close();
    await dropDatabase(name);
  });

  it('runs the step once a database that was missing at start-up exists', async () => {
    const { log, lines } = capturingLogger('reachability-test');
    const ran: string[] = [];
    const wait = whenPostgresAnswers(db.pool, databaseUrl(name), log, async () => void ran.push((await db.pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db), 50);
    try {
      await wait.firstAttempt;
      expect(ran).toEqual([]);
      expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'database does not exist' })]);
      const admin = new Client({ connectionString: DATABASE_SERVER_URL });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${templateDatabase()}"`);
      } finally {
        await admin.end();
      }
      await waitFor('the step to run once Postgres answers', () => ran.length > 0, { timeoutMs: 60_000 });
      expect(ran).toEqual([name]);
    } finally {
      wait.stop();
    }
  });

  it('runs the step at once when Postgres answers the first try, and never again', async () => {
    const { log } = capturingLogger('reachability-test');
    let runs = 0;
    const wait = whenPostgresAnswers(db.pool, databaseUrl(name), log, async () => void runs++, 50);
    await wait.firstAttempt;
    expect(runs).toBe(1);
    wait.stop();
  });
});

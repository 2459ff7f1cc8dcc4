import { createDb, type Db } from '@octo-sync/db';
import { createTestDatabase, createTestIntegration, type TestDatabase } from '@octo-sync/testkit';

/** Append-mostly tables get UUIDv7 ids made in the application: new rows land at the right edge of the primary key. */
describe('time-ordered ids of sync_runs and alert_deliveries', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'time-ordered-ids-key' });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  /** The ids of `table` in Postgres' uuid order must be the ids in the order they were made. */
  async function inUuidOrder(table: 'sync_runs' | 'alert_deliveries', ids: readonly string[]): Promise<string[]> {
    const { rows } = await db.pool.query<{ id: string }>(`SELECT id::text FROM ${table} WHERE id = ANY($1::uuid[]) ORDER BY id`, [ids]);
    return rows.map((r) => r.id);
  }

  test('runs requested one after another, one by one and by the nightly fan-out, sort by creation in the primary key', async () => {
    const made: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      const integrationId = await createTestIntegration(db);
      const { runId, created } = await db.runs.requestRun(integrationId, i % 2 === 0 ? 'webhook' : 'admin', { kind: i % 3 === 0 ? 'availability_pull' : 'catalog' });
      expect(created).toBe(true);
      made.push(runId);
    }
    const fanned = await Promise.all(Array.from({ length: 5 }, () => createTestIntegration(db)));
    const scheduled = await db.scheduledRuns.request(fanned, new Date());
    expect(scheduled.map((s) => s.outcome)).toEqual(Array(5).fill('created'));
    const afterFanOut = (await db.runs.requestRun(await createTestIntegration(db), 'webhook')).runId;
    expect(await inUuidOrder('sync_runs', made)).toEqual(made);
    for (const { runId } of scheduled) expect(runId > made.at(-1)! && runId < afterFanOut).toBe(true);
    const versions = await db.pool.query<{ version: string }>(`SELECT DISTINCT substr(id::text, 15, 1) AS version FROM sync_runs WHERE id = ANY($1::uuid[])`, [[...made, ...scheduled.map((s) => s.runId), afterFanOut]]);
    expect(versions.rows).toEqual([{ version: '7' }]);
  });

  test('alerts recorded one after another sort by creation in the primary key', async () => {
    const integrationId = await createTestIntegration(db);
    const made: string[] = [];
    for (let i = 0; i < 20; i += 1) made.push((await db.alerts.create(integrationId, 'sync.failed', { n: i })).id);
    expect(await inUuidOrder('alert_deliveries', made)).toEqual(made);
  });
});

import type { JobContext } from '@octo-sync/jobs';
import { createDb, type Db } from '@octo-sync/db';
import { capturingLogger, createTestDatabase, type TestDatabase } from '@octo-sync/testkit';
import { createPruneChangesHandler } from '../src/schedules/prune-changes.handler';

const SPAN = 10_000_000;

/** `changes.prune` creates the feed's partitions before it prunes: a prune that fails still leaves writers their room. */
describe('changes.prune', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'prune-changes-test' });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('creates partitions ahead even when the prune fails', async () => {
    const handler = createPruneChangesHandler({ db, settings: { enabled: true, retentionDays: 7, pruneBatch: 100, pruneMaxBatches: 1 } });
    const ctx = { log: capturingLogger('prune-changes').log } as unknown as JobContext;
    // The ids given reach the last partition: writers have half a span left.
    await db.pool.query(`SELECT setval('change_transactions_id_seq', ${2.5 * SPAN})`);
    expect((await db.changes.partitions.headroom()).left).toBeLessThan(SPAN);
    // The prune's statement fails (its watermark table is gone).
    await db.pool.query('ALTER TABLE change_feed_state RENAME TO change_feed_state_gone');

    await expect(handler({}, ctx)).rejects.toMatchObject({ message: expect.stringContaining('change_feed_state') });
    expect((await db.changes.partitions.headroom()).left).toBeGreaterThan(2 * SPAN);
  });
});

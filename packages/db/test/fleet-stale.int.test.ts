import { createDb, tierScope, type Db } from '@octo-sync/db';
import { createTestDatabase, createTestIntegration, type TestDatabase } from '@octo-sync/testkit';

/**
 * The fleet list's freshness rule finds a tier's pulls by the scope the application gives them
 * (tierScope): a pull of tier N counts for tier N alone, a refresh's for none. With the default
 * tiers, tier 0 is missed after 10 minutes, tier 1 after 120, tier 2 after two days.
 */
describe('the fleet list: stale by the pulls of each tier', () => {
  let database: TestDatabase;
  let db: Db;
  const ids: Record<'everyTier' | 'tierZeroOnly', string> = { everyTier: '', tierZeroOnly: '' };
  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

  async function pulled(integrationId: string, pullScope: string, minutes: number): Promise<void> {
    await db.prisma.syncRun.create({
      data: { integrationId, trigger: 'schedule', kind: 'availability_pull', status: 'succeeded', pullScope, queuedAt: minutesAgo(minutes + 1), finishedAt: minutesAgo(minutes) },
    });
  }

  async function integration(): Promise<string> {
    const id = await createTestIntegration(db);
    await db.pool.query(`UPDATE integrations SET is_approved = true, created_at = now() - interval '10 hours' WHERE id = $1::uuid`, [id]);
    return id;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'fleet-stale-test' });
    ids.everyTier = await integration();
    await pulled(ids.everyTier, tierScope(0), 2);
    await pulled(ids.everyTier, tierScope(1), 30);
    ids.tierZeroOnly = await integration();
    await pulled(ids.tierZeroOnly, tierScope(0), 2);
    // A refresh narrowed to some dates covers no tier, however recent.
    await pulled(ids.tierZeroOnly, JSON.stringify([null, null, '2026-12-01', null]), 1);
    // Nor does a refresh of a product whose id is "tier" (its scope starts as a tier's does).
    await pulled(ids.tierZeroOnly, JSON.stringify(['tier', null, null, null]), 0);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const listed = async (stale: boolean) => (await db.fleet.list({ stale, sort: 'created_at', page: 1, pageSize: 10 })).items;

  test('a tier pulled within twice its interval is fresh; one never pulled since long ago is stale', async () => {
    expect((await listed(false)).map((row) => row.integration.id)).toEqual([ids.everyTier]);
    const [stale, ...others] = await listed(true);
    expect(others).toEqual([]);
    expect({ id: stale?.integration.id, stale: stale?.stale }).toEqual({ id: ids.tierZeroOnly, stale: true });
  });

  test('the last pull shown is the newest of a tier or the whole window, never a refresh', async () => {
    const [row] = await listed(true);
    expect(row?.lastPullAt?.getTime()).toBe((await db.prisma.syncRun.findFirstOrThrow({ where: { integrationId: ids.tierZeroOnly, pullScope: tierScope(0) } })).finishedAt?.getTime());
  });
});

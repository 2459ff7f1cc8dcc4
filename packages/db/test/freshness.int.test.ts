import { createDb, type Db } from '@octo-sync/db';
import { createTestDatabase, createTestIntegration, type TestDatabase } from '@octo-sync/testkit';

/**
 * The oldest confirmation per pull tier, from a known set of pull marks at a fixed `now`
 * (2026-12-07 12:00 UTC), with the default tiers: days 0..3 every 5 minutes, 4..30 hourly,
 * 31..90 daily.
 */
describe('freshness per pull tier', () => {
  let database: TestDatabase;
  let db: Db;
  const now = new Date('2026-12-07T12:00:00Z');
  const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
  /** Answer keys are nanoseconds since the epoch. */
  const keyOf = (at: Date) => (BigInt(at.getTime()) * 1_000_000n).toString();
  let ids: Record<'utc' | 'auckland' | 'empty' | 'down', string>;

  async function integration(createdAt: Date, state: { approved?: boolean; health?: string } = {}): Promise<string> {
    const id = await createTestIntegration(db);
    await db.pool.query(`UPDATE integrations SET created_at = $2, is_approved = $3, health_status = $4::"HealthStatus" WHERE id = $1::uuid`, [
      id, createdAt, state.approved ?? true, state.health ?? 'HEALTHY',
    ]);
    return id;
  }

  async function option(integrationId: string, product: string, timeZone: string, optionId: string, createdAt: Date, active = true): Promise<void> {
    await db.pool.query(
      `INSERT INTO products (integration_id, octo_id, time_zone, raw, content_hash, created_at) VALUES ($1::uuid, $2, $3, '{}', 'h', $4)
       ON CONFLICT (integration_id, octo_id) DO NOTHING`,
      [integrationId, product, timeZone, ago(30 * 86_400)],
    );
    await db.pool.query(
      `INSERT INTO product_options (product_id, octo_id, raw, content_hash, active, created_at)
       SELECT id, $3, '{}', 'h', $4, $5 FROM products WHERE integration_id = $1::uuid AND octo_id = $2`,
      [integrationId, product, optionId, active, createdAt],
    );
  }

  async function mark(integrationId: string, product: string, optionId: string, from: string, to: string, answeredAt: Date): Promise<void> {
    await db.pool.query(
      `INSERT INTO availability_pull_marks (integration_id, product_octo_id, option_octo_id, date_from, date_to, answer_key) VALUES ($1::uuid, $2, $3, $4, $5, $6)`,
      [integrationId, product, optionId, from, to, keyOf(answeredAt)],
    );
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'freshness-test' });
    const tenDays = ago(10 * 86_400);
    ids = { utc: await integration(tenDays), auckland: await integration(tenDays), empty: await integration(tenDays), down: await integration(tenDays, { health: 'DOWN' }) };

    // UTC: today is 2026-12-07; tier 0 is 12-07..12-10, tier 1 12-11..2027-01-06, tier 2 01-07..03-07.
    await option(ids.utc, 'p', 'UTC', 'o1', tenDays);
    await mark(ids.utc, 'p', 'o1', '2026-12-07', '2026-12-10', ago(120));
    await mark(ids.utc, 'p', 'o1', '2026-12-11', '2027-01-06', ago(1_800));
    // A newer refresh of one day inside tier 1 leaves the rest of the tier as old as it was.
    await mark(ids.utc, 'p', 'o1', '2026-12-20', '2026-12-20', ago(60));
    // The daily tier's last pull was before today's day 90 (03-07) entered the window at
    // 2026-12-07 00:00 UTC: that day counts from then (12 hours), older than the mark (6 hours).
    await mark(ids.utc, 'p', 'o1', '2027-01-06', '2027-03-06', ago(6 * 3_600));
    // Created an hour ago: its days no mark holds count from its creation.
    await option(ids.utc, 'p', 'UTC', 'o2', ago(3_600));
    await mark(ids.utc, 'p', 'o2', '2026-12-07', '2026-12-09', ago(240));
    await mark(ids.utc, 'p', 'o2', '2026-12-11', '2027-01-06', ago(3_000));
    // Inactive: never pulled, and not counted.
    await option(ids.utc, 'p', 'UTC', 'o3', tenDays, false);

    // Auckland (UTC+13 in December): today there is 2026-12-08, and its tiers' windows with it.
    await option(ids.auckland, 'q', 'Pacific/Auckland', 'o', tenDays);
    await mark(ids.auckland, 'q', 'o', '2026-12-08', '2026-12-11', ago(180));
    await mark(ids.auckland, 'q', 'o', '2026-12-12', '2027-01-07', ago(600));
    await mark(ids.auckland, 'q', 'o', '2027-01-08', '2027-03-08', ago(7_200));
    // A UTC window's first day, older than anything above: it must not count for Auckland.
    await mark(ids.auckland, 'q', 'o', '2026-12-07', '2026-12-07', ago(86_400));

    // DOWN: shown by id, left out of the fleet's figures (the schedule does not pull it).
    await option(ids.down, 'p', 'Not/AZone', 'o', tenDays);
    await mark(ids.down, 'p', 'o', '2026-12-07', '2027-03-07', ago(30 * 3_600));
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const ages = async (id: string) => (await db.freshness.ofIntegrations([id], now)).map((t) => [t.tier, (now.getTime() - t.oldestConfirmedAt.getTime()) / 1000]);

  test('each tier is as old as its oldest active option day: the newest mark holding the day, else since the day could have been pulled', async () => {
    expect(await ages(ids.utc)).toEqual([
      [0, 3_600], // o2's 12-10: no mark, created an hour ago
      [1, 3_000], // o2's tier mark (o1's is 1,800 s old; its refresh of 12-20 does not make the tier younger)
      [2, 43_200], // o1's 03-07, in the window since midnight; o2's days since its creation (3,600 s)
    ]);
    expect(await ages(ids.auckland)).toEqual([[0, 180], [1, 600], [2, 7_200]]);
    // An unknown time zone counts as UTC, as the pull's window does.
    expect(await ages(ids.down)).toEqual([[0, 108_000], [1, 108_000], [2, 108_000]]);
    expect(await ages(ids.empty)).toEqual([]);
  });

  test('the fleet: p50 and p99 per tier over the integrations the schedule pulls, with the tier’s longest interval', async () => {
    // Two integrations per tier (utc, auckland): percentile_cont interpolates between them.
    const between = (low: number, high: number, q: number) => low + q * (high - low);
    expect(await db.freshness.fleet(now)).toEqual([
      { tier: 0, integrations: 2, p50: between(180, 3_600, 0.5), p99: between(180, 3_600, 0.99), intervalSeconds: 300 },
      { tier: 1, integrations: 2, p50: between(600, 3_000, 0.5), p99: between(600, 3_000, 0.99), intervalSeconds: 3_600 },
      { tier: 2, integrations: 2, p50: between(7_200, 43_200, 0.5), p99: between(7_200, 43_200, 0.99), intervalSeconds: 86_400 },
    ]);
  });
});

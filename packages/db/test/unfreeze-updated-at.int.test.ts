import { Client } from 'pg';
import { createDb, migrate, type Db, type SlotRow } from '@octo-sync/db';
import { databaseUrl, dropDatabase, migrateBefore, uniqueDatabaseName } from '@octo-sync/testkit';

const HOUR_MS = 3_600_000;
const REPAIR = '_unfreeze_updated_at_keys';

/**
 * Slots frozen by an `updatedAt` far ahead (year 9999, accepted before notify bounded it): the
 * migration forgets such keys, so the next change by `updatedAt` applies again.
 */
describe('migration: frozen updatedAt keys are repaired', () => {
  const name = uniqueDatabaseName();
  const url = databaseUrl(name);
  let db: Db | undefined;
  afterAll(async () => {
    await db?.close();
    await dropDatabase(name);
  });

  const slot = (availabilityId: string, updatedAtMs: number): SlotRow => ({
    integration_id: '',
    product_octo_id: 'p1',
    option_octo_id: 'o1',
    availability_id: availabilityId,
    local_date_time_start: '2026-12-20T10:00:00+00:00',
    starts_at: '2026-12-20T10:00:00.000Z',
    status: 'AVAILABLE',
    vacancies: 5,
    capacity: 10,
    order_key: String(updatedAtMs),
    order_source: 'updated_at',
    received_key: '1',
    raw: null,
  });

  it('forgets keys more than 24 h past now and keeps the others; the next change applies', async () => {
    const repair = await migrateBefore(url, REPAIR);

    // The slots as the old gateway let them be written: one frozen in 9999, one a day and a half
    // ahead, one an hour ahead (a supplier's clock a little fast), one in the past.
    db = createDb({ databaseUrl: url, secretsKey: 'unfreeze-test-key', changeFeed: false });
    const client = new Client({ connectionString: url });
    await client.connect();
    const { rows } = await client
      .query<{ id: string }>(
        `INSERT INTO integrations (partner_id, base_url, auth_type, auth_key_encrypted, handles_ticket_delivery, is_approved, webhook_secret_hash)
         VALUES ('p-frozen', 'https://octo.example.com', 'bearer', 'x', false, true, 'x') RETURNING id`,
      )
      .finally(() => client.end());
    const integrationId = rows[0]!.id;
    const now = Date.now();
    const keys = { frozen: Date.parse('9999-12-31T23:59:59Z'), dayAndHalf: now + 36 * HOUR_MS, hour: now + HOUR_MS, past: now - HOUR_MS };
    // Written as that release's upsert wrote them (this release's statements need its slot table).
    await db.pool.query(
      `INSERT INTO availability_slots (integration_id, product_octo_id, option_octo_id, availability_id, local_date_time_start, starts_at, status,
         vacancies, capacity, order_key, order_source, last_updated_at_ms, last_updated_at_received, last_push_received)
       SELECT $1::uuid, r.product_octo_id, r.option_octo_id, r.availability_id, r.local_date_time_start, r.starts_at, r.status, r.vacancies, r.capacity,
         r.order_key, r.order_source, r.order_key, r.received_key, r.received_key
       FROM jsonb_to_recordset($2::jsonb) AS r(product_octo_id text, option_octo_id text, availability_id text, local_date_time_start text,
         starts_at timestamptz, status text, vacancies integer, capacity integer, order_key bigint, order_source text, received_key bigint)`,
      [integrationId, JSON.stringify(Object.entries(keys).map(([id, ms]) => slot(id, ms)))],
    );

    expect((await migrate({ databaseUrl: url })).applied).toContain(repair);

    const stored = await db.prisma.availabilitySlot.findMany({ where: { integrationId }, orderBy: { availabilityId: 'asc' } });
    expect(Object.fromEntries(stored.map((s) => [s.availabilityId, s.lastUpdatedAtMs === null ? null : Number(s.lastUpdatedAtMs)]))).toEqual({
      dayAndHalf: null,
      frozen: null,
      hour: keys.hour,
      past: keys.past,
    });
    // The repaired slots keep their values until a change comes; an honest change now applies.
    expect(stored.find((s) => s.availabilityId === 'frozen')).toMatchObject({ vacancies: 5, status: 'AVAILABLE' });
    const next = (id: string) => ({ ...slot(id, now), integration_id: integrationId, vacancies: 1, received_key: '2' });
    const [written] = await db.availability.apply([[next('frozen'), next('dayAndHalf'), next('hour')]]);
    expect([...written!].map((key) => key.split('\u0000')[3]).sort()).toEqual(['dayAndHalf', 'frozen']);
  });
});

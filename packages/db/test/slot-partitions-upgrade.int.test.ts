import { Client } from 'pg';
import { createDb, migrate, type Db, type SlotRow } from '@octo-sync/db';
import { databaseUrl, dropDatabase, migrateBefore, uniqueDatabaseName } from '@octo-sync/testkit';

const DAY_MS = 86_400_000;
const day = (offset: number) => new Date(Date.now() + offset * DAY_MS).toISOString().slice(0, 10);

/**
 * The upgrade to partitioned slots by expand and contract (README, "Upgrading to partitioned
 * slots"): a database holding slots of the previous layout gets the new table and the forwarding
 * trigger, old writers go on writing the old table while the batch fill copies it, and the switch
 * and contract leave every slot readable and writable by this release's statements.
 */
describe('migration: slots move to the partitioned table by expand, fill, switch and contract', () => {
  const name = uniqueDatabaseName();
  const url = databaseUrl(name);
  let db: Db | undefined;
  let sql: Client | undefined;
  afterAll(async () => {
    await sql?.end();
    await db?.close();
    await dropDatabase(name);
  });

  /** The previous release's push upsert (its key, its columns), as its workers keep running it until the switch. */
  const oldWrite = (integrationId: string, id: string, start: string | null, vacancies: number) =>
    sql!.query(
      `INSERT INTO availability_slots AS t (integration_id, product_octo_id, option_octo_id, availability_id, local_date_time_start, starts_at,
         status, vacancies, capacity, order_key, order_source, last_received, last_push_received)
       VALUES ($1::uuid, 'P', 'O', $2, $3::text, $3::timestamptz, 'AVAILABLE', $4::int, 10, $4::int, 'received_at', $4::int, $4::int)
       ON CONFLICT (integration_id, product_octo_id, option_octo_id, availability_id) DO UPDATE SET
         local_date_time_start = COALESCE(excluded.local_date_time_start, t.local_date_time_start), starts_at = COALESCE(excluded.starts_at, t.starts_at),
         vacancies = excluded.vacancies, order_key = excluded.order_key, last_received = excluded.last_received, last_push_received = excluded.last_push_received`,
      [integrationId, id, start, vacancies],
    );

  it('copies every slot, keeps the writes made meanwhile, and leaves them readable and writable', async () => {
    await migrateBefore(url, '_slot_partitions_expand');
    sql = new Client({ connectionString: url });
    await sql.connect();
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO integrations (partner_id, base_url, auth_type, auth_key_encrypted, handles_ticket_delivery, is_approved, webhook_secret_hash)
       VALUES ('p-upgrade', 'https://octo.example.com', 'bearer', 'x', false, true, 'x') RETURNING id`,
    );
    const integrationId = rows[0]!.id;
    const at = (offset: number) => `${day(offset)}T09:00:00+00:00`;
    // Before the expand: 40 slots over months past and ahead, and an undated one.
    for (let i = 0; i < 40; i++) await oldWrite(integrationId, `s${i}`, at(-100 + i * 12), 1);
    await oldWrite(integrationId, 'undated', null, 1);

    // Expand (and whatever comes before the switch); the old release goes on writing while the fill runs.
    await migrateBefore(url, '_slot_partitions_switch');
    const fill = async () => (await sql!.query<{ n: number }>('SELECT slot_fill_batch(7) AS n')).rows[0]!.n;
    expect(await fill()).toBe(7);
    await oldWrite(integrationId, 's2', at(-76), 22); // copied already: forwarded
    await oldWrite(integrationId, 's30', at(200), 30); // not copied yet, its start moved to another month
    await oldWrite(integrationId, 'new', at(5), 5); // written after the expand: forwarded
    expect(await fill()).toBe(7);
    await sql.query(`DELETE FROM availability_slots WHERE availability_id = 's20'`);
    await oldWrite(integrationId, 's3', null, 33); // a change without its start, in the forwarded copy
    let looked = 0;
    for (let n = await fill(); n > 0; n = await fill()) looked += n;
    expect(looked).toBeGreaterThan(0);
    const before = (await sql.query<{ id: string; start: string | null; vacancies: number }>(
      `SELECT availability_id AS id, local_date_time_start AS start, vacancies FROM availability_slots ORDER BY availability_id`,
    )).rows;
    expect(before).toHaveLength(41);

    // Switch and contract.
    const applied = (await migrate({ databaseUrl: url })).applied;
    expect(applied.some((m) => m.endsWith('_slot_partitions_switch'))).toBe(true);
    expect(applied.some((m) => m.endsWith('_slot_partitions_contract'))).toBe(true);
    const after = await sql.query<{ id: string; start: string | null; vacancies: number; part: string; slot_date: string }>(
      `SELECT availability_id AS id, local_date_time_start AS start, vacancies, tableoid::regclass::text AS part, slot_date::text
       FROM availability_slots ORDER BY availability_id`,
    );
    expect(after.rows.map(({ id, start, vacancies }) => ({ id, start, vacancies }))).toEqual(before);
    for (const row of after.rows) {
      expect(row.part).toBe(row.start === null ? 'availability_slots_undated' : `availability_slots_p${row.start.slice(0, 4)}${row.start.slice(5, 7)}`);
      expect(row.slot_date).toBe(row.start === null ? 'infinity' : row.start.slice(0, 10));
    }
    expect((await sql.query(`SELECT to_regclass('availability_slots_old') AS t`)).rows[0]).toEqual({ t: null });

    // This release's statements read and write them.
    db = createDb({ databaseUrl: url, secretsKey: 'slot-upgrade-key' });
    const change = (id: string, start: string | null, key: number): SlotRow => ({
      integration_id: integrationId, product_octo_id: 'P', option_octo_id: 'O', availability_id: id, local_date_time_start: start, starts_at: start,
      status: 'LIMITED', vacancies: 2, capacity: 10, order_key: String(key), order_source: 'received_at', received_key: String(key), raw: null,
    });
    const [written] = await db.availability.apply([[change('s30', null, 1000), change('s5', at(8), 1000), change('undated', at(9), 1000), change('fresh', at(10), 1000)]]);
    expect([...written!].map((k) => k.split('\u0000')[3]).sort()).toEqual(['fresh', 's30', 's5', 'undated']);
    const ids = ['s30', 's5', 'undated', 'fresh'];
    const stored = await db.prisma.availabilitySlot.findMany({ where: { integrationId, availabilityId: { in: ids } }, orderBy: { availabilityId: 'asc' } });
    expect(stored.map((s) => [s.availabilityId, s.localDateTimeStart, s.status])).toEqual([
      ['fresh', at(10), 'LIMITED'],
      ['s30', at(200), 'LIMITED'],
      ['s5', at(8), 'LIMITED'],
      ['undated', at(9), 'LIMITED'],
    ]);
    const page = await db.catalogRead.listSlots(integrationId, { page: 1, pageSize: 100 });
    expect(page.items).toHaveLength(42);
  });

  it('refuses the expand, naming their range, while old rows start past the months it partitions', async () => {
    const other = uniqueDatabaseName();
    const otherUrl = databaseUrl(other);
    const client = new Client({ connectionString: otherUrl });
    try {
      await migrateBefore(otherUrl, '_slot_partitions_expand');
      await client.connect();
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO integrations (partner_id, base_url, auth_type, auth_key_encrypted, handles_ticket_delivery, is_approved, webhook_secret_hash)
         VALUES ('p-far', 'https://octo.example.com', 'bearer', 'x', false, true, 'x') RETURNING id`,
      );
      for (const start of ['2099-01-05T09:00:00+00:00', '2101-07-01T09:00:00+00:00']) {
        await client.query(
          `INSERT INTO availability_slots (integration_id, product_octo_id, option_octo_id, availability_id, local_date_time_start, order_key, order_source)
           VALUES ($1::uuid, 'P', 'O', $2, $2, 1, 'received_at')`,
          [rows[0]!.id, start],
        );
      }
      await expect(migrate({ databaseUrl: otherUrl })).rejects.toThrow(/starting from 2099-01-05 to 2101-07-01/);
    } finally {
      await client.end();
      await dropDatabase(other);
    }
  });
});

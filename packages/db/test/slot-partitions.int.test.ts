import { createDb, type Db, type SlotRow } from '@octo-sync/db';
import { createTestDatabase, createTestIntegration, inPgTransaction, waitFor, type TestDatabase } from '@octo-sync/testkit';
import { CONFIRM_SAME, RECONCILE_SNAPSHOT } from '../src/availability/pull-statements';

const DAY_MS = 86_400_000;
const day = (offset: number) => new Date(Date.now() + offset * DAY_MS).toISOString().slice(0, 10);
const monthOf = (offset: number) => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 10);
};
const partitionOf = (month: string) => `availability_slots_p${month.slice(0, 4)}${month.slice(5, 7)}`;
const settings = { retentionDays: 7, lockTimeoutMs: 500, undatedBatch: 2, undatedMaxBatches: 10 };

/**
 * The slots' monthly partitions (slot-partitions.store.ts, slot-placement.ts): kept ahead and
 * dropped behind by the maintenance pass, each step under lock_timeout; a slot has one row, in
 * its start's month, moved with its start; a pull reads only its window's partitions.
 */
describe('slot partitions', () => {
  let database: TestDatabase;
  let db: Db;
  let integrationId: string;
  let key = BigInt(Date.now()) * 1_000_000n;
  const nextKey = () => (key += 1_000n).toString();

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'slot-partitions-test', poolSize: 4 });
    integrationId = await createTestIntegration(db);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const push = (availabilityId: string, start: string | null, vacancies: number): SlotRow => {
    const k = nextKey();
    return { integration_id: integrationId, product_octo_id: 'P', option_octo_id: 'O', availability_id: availabilityId, local_date_time_start: start, starts_at: start, status: start === null ? null : 'AVAILABLE', vacancies, capacity: 10, order_key: k, order_source: 'received_at', received_key: k, raw: null };
  };
  const rowsOf = async (availabilityId: string) =>
    (await db.pool.query<{ part: string; slot_date: string; vacancies: number; start: string | null }>(
      `SELECT tableoid::regclass::text AS part, slot_date::text, vacancies, local_date_time_start AS start FROM availability_slots WHERE integration_id = $1::uuid AND availability_id = $2`,
      [integrationId, availabilityId],
    )).rows;

  it('keeps one row per slot, in the partition of its start’s month, whatever the changes say', async () => {
    const [first, later] = [`${day(3)}T09:00:00+00:00`, `${day(70)}T09:00:00+00:00`];
    await db.availability.apply([[push('moving', null, 1)]]);
    expect(await rowsOf('moving')).toEqual([{ part: 'availability_slots_undated', slot_date: 'infinity', vacancies: 1, start: null }]);
    await db.availability.apply([[push('moving', first, 2)]]);
    expect(await rowsOf('moving')).toEqual([{ part: partitionOf(day(3)), slot_date: day(3), vacancies: 2, start: first }]);
    // A change without a start finds the row wherever it is.
    await db.availability.apply([[push('moving', null, 3)]]);
    expect(await rowsOf('moving')).toEqual([{ part: partitionOf(day(3)), slot_date: day(3), vacancies: 3, start: first }]);
    await db.availability.apply([[push('moving', later, 4)]]);
    expect(await rowsOf('moving')).toEqual([{ part: partitionOf(day(70)), slot_date: day(70), vacancies: 4, start: later }]);
    // A stale change to the old start neither moves the row back nor adds one.
    const stale = push('moving', first, 9);
    await db.availability.apply([[{ ...stale, order_key: '1', received_key: '1' }]]);
    expect(await rowsOf('moving')).toEqual([{ part: partitionOf(day(70)), slot_date: day(70), vacancies: 4, start: later }]);
    const events = await db.pool.query<{ type: string }>(`SELECT type FROM change_events WHERE integration_id = $1::uuid AND availability_id = 'moving'`, [integrationId]);
    expect(events.rows.map((e) => e.type)).toEqual(['slot.changed', 'slot.changed', 'slot.changed', 'slot.changed']);
  });

  it('reconciles a pull that lists a slot whose start moved to another month', async () => {
    await db.availability.apply([[push('listed', `${day(4)}T10:00:00+00:00`, 1), push('unlisted', `${day(5)}T10:00:00+00:00`, 1)]]);
    const moved = `${day(40)}T10:00:00+00:00`;
    const counts = await inPgTransaction(db.pool, (client) =>
      db.pulls.reconcile(client, integrationId, [
        { productId: 'P', optionId: 'X', from: day(0), to: day(60), answerKey: BigInt(nextKey()), slots: [] },
        { productId: 'P', optionId: 'O', from: day(0), to: day(60), answerKey: BigInt(nextKey()), slots: [{ availability_id: 'listed', local_date_time_start: moved, starts_at: moved, status: 'AVAILABLE', vacancies: 6, capacity: 10, raw: null }] },
      ]),
    );
    expect(counts[1]).toMatchObject({ created: 0, updated: 1 });
    expect(await rowsOf('listed')).toEqual([{ part: partitionOf(day(40)), slot_date: day(40), vacancies: 6, start: moved }]);
  });

  it('plans only the partitions of a pull’s window (EXPLAIN: the window scans name no other month)', async () => {
    const far = [day(150), day(300), day(-5)].map((d) => push(`far-${d}`, `${d}T08:00:00+00:00`, 1));
    await db.availability.apply([far]);
    const [from, to] = [day(80), day(85)];
    const windowParts = new Set([partitionOf(from), partitionOf(to)]);
    const answers = JSON.stringify([{ product_octo_id: 'P', option_octo_id: 'O', answer_key: nextKey(), date_from: from, date_to: to, listed: [], slots: [], digest: 'd', slot_count: 0 }]);
    for (const statement of [RECONCILE_SNAPSHOT, CONFIRM_SAME]) {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${statement}`, [integrationId, answers, from, to]);
        await client.query('ROLLBACK');
        const scanned = windowScans(rows[0]!['QUERY PLAN']);
        expect(scanned.length).toBeGreaterThan(0);
        for (const part of scanned) expect(windowParts).toContain(part);
      } finally {
        client.release();
      }
    }
  });

  it('lets a concurrent pass create a month: the one that finds it made meanwhile goes on', async () => {
    const month = monthOf(22);
    await db.pool.query(`ALTER TABLE availability_slots DETACH PARTITION ${partitionOf(month)}`);
    await db.pool.query(`DROP TABLE ${partitionOf(month)}`);
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query("SELECT slot_partition_ensure('availability_slots', $1::date)", [month]);
      const pass = db.slotPartitions.maintain({ ...settings, lockTimeoutMs: 60_000 }, new Date());
      await waitFor('the pass to wait for the other one’s table', async () =>
        ((await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%slot_partition_ensure%'`)).rowCount ?? 0) > 0, { timeoutMs: 60_000 });
      await other.query('COMMIT');
      await expect(pass).resolves.toMatchObject({ monthsAhead: 26 });
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      other.release();
    }
  });

  it('lets a concurrent pass drop an old month: the one that finds it gone goes on', async () => {
    const old = monthOf(-8);
    await db.pool.query("SELECT slot_partition_ensure('availability_slots', $1::date)", [old]);
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(`ALTER TABLE availability_slots DETACH PARTITION ${partitionOf(old)}`);
      const pass = db.slotPartitions.maintain({ ...settings, lockTimeoutMs: 60_000 }, new Date());
      await waitFor('the pass to wait for the other one’s detach', async () =>
        ((await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%DETACH PARTITION%CONCURRENTLY%'`)).rowCount ?? 0) > 0, { timeoutMs: 60_000 });
      await other.query(`DROP TABLE ${partitionOf(old)}`);
      await other.query('COMMIT');
      await expect(pass).resolves.toMatchObject({ monthsAhead: 26 });
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      other.release();
    }
  });

  const idsOf = async (availabilityId: string) =>
    (await db.pool.query<{ slot_date: string }>(`SELECT slot_date::text FROM slot_ids WHERE integration_id = $1::uuid AND availability_id LIKE $2`, [integrationId, availabilityId])).rows.map((r) => r.slot_date);

  it('creates the months ahead and drops the months past the retention, each step under lock_timeout', async () => {
    const old = monthOf(-5);
    await db.pool.query("SELECT slot_partition_ensure('availability_slots', $1::date)", [old]);
    await db.pool.query(`INSERT INTO availability_slots (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, local_date_time_start, order_key, order_source)
      VALUES ($1::uuid, slot_option_key($1::uuid, 'P', 'O'), $2::date, 'P', 'O', 'old', $2 || 'T09:00:00+00:00', 1, 'sequence')`, [integrationId, old]);
    const ahead = monthOf(20);
    await db.pool.query(`ALTER TABLE availability_slots DETACH PARTITION ${partitionOf(ahead)}`);
    await db.pool.query(`DROP TABLE ${partitionOf(ahead)}`);
    await db.pool.query(`INSERT INTO availability_slots (integration_id, option_key, slot_date, product_octo_id, option_octo_id, availability_id, order_key, order_source, updated_at)
      SELECT $1::uuid, slot_option_key($1::uuid, 'P', 'U'), 'infinity', 'P', 'U', 'undated-' || n, 1, 'sequence', now() - interval '30 days' FROM generate_series(1, 5) n`, [integrationId]);

    // A reader of the old month: a concurrent detach waits for it past lock_timeout and is left for the next pass.
    const reader = await db.pool.connect();
    let pending: string | undefined;
    try {
      await reader.query('BEGIN');
      await reader.query(`SELECT count(*) FROM availability_slots WHERE slot_date = $1::date`, [old]);
      const blocked = await db.slotPartitions.maintain(settings, new Date());
      // Postgres detaches one partition of a table at a time: the first waits for the reader, the rest wait for the next pass.
      expect(blocked).toMatchObject({ created: [ahead], dropped: [], undatedPruned: 5 });
      expect(blocked.skipped).toHaveLength(1);
      pending = blocked.skipped[0]!;
      // The pruned undated slots' ids go with them; the old month's stay while its table does.
      expect(await idsOf('undated-%')).toEqual([]);
      expect(await idsOf('old')).toEqual([old]);
    } finally {
      await reader.query('ROLLBACK');
      reader.release();
    }
    const done = await db.slotPartitions.maintain(settings, new Date());
    expect(done).toMatchObject({ created: [], skipped: [], monthsAhead: 26 });
    expect(done.dropped[0]).toBe(pending);
    expect(done.dropped).toContain(partitionOf(old));
    expect(await rowsOf('old')).toEqual([]);
    expect(await idsOf('old')).toEqual([]);
    // From the month of the earliest start the gateway accepts (today − 7 days − 1, a day more for time zones) to 25 months ahead.
    const months = [...(await db.slotPartitions.partitions()).keys()].sort();
    expect(months[0]).toBe(new Date(Date.now() - 9 * DAY_MS).toISOString().slice(0, 8) + '01');
    expect(months.at(-1)).toBe(monthOf(25));
    expect(await db.slotPartitions.maintain(settings, new Date())).toMatchObject({ created: [], dropped: [], skipped: [], undatedPruned: 0 });
  });
});

/** The partitions a plan's window reads scan (alias `c`, as the pull statements name them). */
function windowScans(plan: unknown): string[] {
  const found: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    const alias = node['Alias'];
    if (typeof alias === 'string' && /^c(_\d+)?$/.test(alias) && typeof node['Relation Name'] === 'string') found.push(node['Relation Name']);
    for (const child of (node['Plans'] as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
  };
  for (const root of plan as Array<{ Plan: Record<string, unknown> }>) walk(root.Plan);
  return found;
}

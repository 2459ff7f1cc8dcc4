import type { PoolClient } from 'pg';
import { createDb, type Db, type SlotRow } from '@octo-sync/db';
import { createTestDatabase, createTestIntegration, waitFor, type TestDatabase } from '@octo-sync/testkit';

const DAY_MS = 86_400_000;
const day = (offset: number) => new Date(Date.now() + offset * DAY_MS).toISOString().slice(0, 10);

/**
 * A slot has one row whatever months its concurrent writers name (slot_ids, slot-placement.ts):
 * two first writes of a new slot, or a write racing a move, serialise on the slot's id. Each
 * race is made real by holding the first writer's transaction open after its slot statements: a
 * test transaction holds the change feed's header table, which the writer appends to last.
 */
describe('slot ids: one row per slot across partitions', () => {
  let database: TestDatabase;
  let db: Db;
  let integrationId: string;
  let key = BigInt(Date.now()) * 1_000_000n;
  const nextKey = () => (key += 1_000n).toString();

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'slot-ids-test', poolSize: 6 });
    integrationId = await createTestIntegration(db);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const push = (availabilityId: string, start: string | null, vacancies: number, orderKey = nextKey()): SlotRow => ({
    integration_id: integrationId, product_octo_id: 'P', option_octo_id: 'O', availability_id: availabilityId, local_date_time_start: start,
    starts_at: start, status: 'AVAILABLE', vacancies, capacity: 10, order_key: orderKey, order_source: 'received_at', received_key: orderKey, raw: null,
  });
  const rowsOf = async (availabilityId: string) =>
    (await db.pool.query<{ slot_date: string; vacancies: number }>(
      `SELECT slot_date::text, vacancies FROM availability_slots WHERE integration_id = $1::uuid AND availability_id = $2 ORDER BY slot_date`,
      [integrationId, availabilityId],
    )).rows;
  const lockWaiters = async () =>
    (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rowCount ?? 0;

  /** Runs `writes` while a transaction holds the change feed's header table: each writer stops before its commit, holding its locks. */
  async function raced(first: SlotRow, second: SlotRow): Promise<void> {
    const holder: PoolClient = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE change_transactions IN SHARE MODE');
      const a = db.availability.apply([[first]]);
      await waitFor('the first writer to wait for the feed', async () => (await lockWaiters()) >= 1, { timeoutMs: 60_000 });
      const b = db.availability.apply([[second]]);
      // The second waits too: on the slot's id (or, without it, on the feed after writing a row of its own).
      await waitFor('the second writer to wait', async () => (await lockWaiters()) >= 2, { timeoutMs: 60_000 });
      await holder.query('COMMIT');
      await Promise.all([a, b]);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
  }

  it('two first writes of a new slot, starting in different months, leave one row: the later write meets the first', async () => {
    await raced(push('new', `${day(3)}T09:00:00+00:00`, 1), push('new', `${day(70)}T09:00:00+00:00`, 2));
    expect(await rowsOf('new')).toEqual([{ slot_date: day(70), vacancies: 2 }]);
  });

  it('a write racing a move meets the moved row and its ordering check: a stale change neither adds a row nor wins', async () => {
    const stale = nextKey();
    await db.availability.apply([[push('moved', `${day(3)}T09:00:00+00:00`, 1)]]);
    // The move to day 70's month holds; the stale change (older key) names the old month.
    await raced(push('moved', `${day(70)}T09:00:00+00:00`, 2), push('moved', `${day(3)}T10:00:00+00:00`, 9, stale));
    expect(await rowsOf('moved')).toEqual([{ slot_date: day(70), vacancies: 2 }]);
  });

  it('a newer change racing a move applies to the moved row and moves it back: still one row', async () => {
    await db.availability.apply([[push('back', `${day(3)}T09:00:00+00:00`, 1)]]);
    await raced(push('back', `${day(70)}T09:00:00+00:00`, 2), push('back', `${day(3)}T10:00:00+00:00`, 3));
    expect(await rowsOf('back')).toEqual([{ slot_date: day(3), vacancies: 3 }]);
  });

  it('creates a new option\'s key before the slot transaction, committed while that transaction is still open', async () => {
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE change_transactions IN SHARE MODE');
      const write = db.availability.apply([[{ ...push('keyed', `${day(3)}T09:00:00+00:00`, 1), option_octo_id: 'NEW-OPTION' }]]);
      await waitFor('the writer to wait for the feed', async () => (await lockWaiters()) >= 1, { timeoutMs: 60_000 });
      const { rows } = await db.pool.query(`SELECT 1 FROM slot_options WHERE integration_id = $1::uuid AND option_octo_id = 'NEW-OPTION'`, [integrationId]);
      expect(rows).toHaveLength(1);
      await holder.query('COMMIT');
      await write;
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
  });

  it('a pull racing a push that moves a slot out of the pull’s window meets the moved row: still one row', async () => {
    await db.availability.apply([[push('pulled', `${day(3)}T09:00:00+00:00`, 1)]]);
    const holder = await db.pool.connect();
    const puller = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE change_transactions IN SHARE MODE');
      const move = db.availability.apply([[push('pulled', `${day(70)}T09:00:00+00:00`, 2)]]);
      await waitFor('the push to wait for the feed', async () => (await lockWaiters()) >= 1, { timeoutMs: 60_000 });
      // The pull's snapshot still has the slot in its window, at day 3.
      const start = `${day(3)}T11:00:00+00:00`;
      await puller.query('BEGIN');
      const pull = db.pulls.reconcile(puller, integrationId, [{ productId: 'P', optionId: 'O', from: day(0), to: day(60), answerKey: BigInt(nextKey()),
        slots: [{ availability_id: 'pulled', local_date_time_start: start, starts_at: start, status: 'AVAILABLE', vacancies: 7, capacity: 10, raw: null }] }]);
      await waitFor('the pull to wait', async () => (await lockWaiters()) >= 2, { timeoutMs: 60_000 });
      await holder.query('COMMIT');
      await move;
      await pull;
      await puller.query('COMMIT');
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await puller.query('ROLLBACK').catch(() => undefined);
      holder.release();
      puller.release();
    }
    expect(await rowsOf('pulled')).toEqual([{ slot_date: day(3), vacancies: 7 }]);
  });

  it('keeps slot_ids naming where each slot is', async () => {
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM slot_ids i FULL JOIN availability_slots s ON s.integration_id = i.integration_id AND s.option_key = i.option_key
         AND s.availability_id = i.availability_id AND s.slot_date = i.slot_date
       WHERE i.integration_id IS NULL OR s.integration_id IS NULL`,
    );
    expect(rows[0]!.n).toBe(0);
  });
});

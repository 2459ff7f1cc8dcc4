import { createDb, sqlStateOf, type Db, type OptionSnapshot, type SlotRow } from '@octo-sync/db';
import { createTestIntegration, createTestDatabase, inPgTransaction, type TestDatabase } from '@octo-sync/testkit';

/**
 * Pushes and pulls lock slot rows in one order whatever the database's collation. The server here
 * has no libc en_US.UTF-8 locale, so the database's default collation is ICU's `en-US` (which,
 * like en_US, orders 'a' < 'B' and '_x' first, where bytes order 'B' < '_x' < 'a'). A trigger
 * of the test's own records the order in which each statement takes its rows.
 */
describe('slot lock order on a database with an en-US collation', () => {
  let database: TestDatabase;
  let db: Db;
  let integrationId: string;
  const day = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const start = `${day}T09:00:00+00:00`;
  const products = ['a', 'B'];
  const options = ['_x', 'y'];
  const ids = ['a', 'B', '_x', 'b', 'A', '-y', 'Z', 'z', 'é', '0'].flatMap((p) => Array.from({ length: 25 }, (_, i) => `${p}${i}`));

  /** Byte order of the UTF-8 text (COLLATE "C"), field by field. */
  const byBytes = (a: readonly string[], b: readonly string[]): number => {
    for (let i = 0; i < a.length; i++) {
      const order = Buffer.compare(Buffer.from(a[i]!), Buffer.from(b[i]!));
      if (order !== 0) return order;
    }
    return 0;
  };
  const slots = products.flatMap((p) => options.flatMap((o) => ids.map((id) => [p, o, id] as const)));
  const shuffled = <T>(items: readonly T[]): T[] => items.map((item) => [Math.random(), item] as const).sort(([a], [b]) => a - b).map(([, item]) => item);
  let key = BigInt(Date.now()) * 1_000_000n;
  const nextKey = () => (key += 1_000n);

  beforeAll(async () => {
    database = await createTestDatabase({ icuLocale: 'en-US' });
    db = createDb({ databaseUrl: database.url, secretsKey: 'slot-lock-order-test', poolSize: 6 });
    integrationId = await createTestIntegration(db);
    await db.pool.query(`
      CREATE TABLE lock_trace (n bigserial PRIMARY KEY, tx bigint NOT NULL, slot text[] NOT NULL);
      CREATE FUNCTION trace_slot_lock() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO lock_trace (tx, slot) VALUES (txid_current(), ARRAY[NEW.product_octo_id, NEW.option_octo_id, NEW.availability_id]);
        RETURN NEW;
      END $$;
      CREATE TRIGGER trace_slot_lock BEFORE INSERT ON availability_slots FOR EACH ROW EXECUTE FUNCTION trace_slot_lock();`);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const pushRows = (which: ReadonlyArray<readonly [string, string, string]>, vacancies: number): SlotRow[] =>
    shuffled(which).map(([p, o, id]) => {
      const received = nextKey().toString();
      return { integration_id: integrationId, product_octo_id: p, option_octo_id: o, availability_id: id, local_date_time_start: start, starts_at: start, status: 'AVAILABLE', vacancies, capacity: 50, order_key: received, order_source: 'received_at', received_key: received, raw: null };
    });

  /** One answer per option listing `listed(id)` ids with `vacancies`; the others of the day are closed. */
  const snapshots = (listed: (id: string) => boolean, vacancies: number): OptionSnapshot[] =>
    shuffled(products.flatMap((productId) => options.map((optionId) => ({ productId, optionId })))).map(({ productId, optionId }) => ({
      productId,
      optionId,
      from: day,
      to: day,
      answerKey: nextKey(),
      slots: shuffled(ids.filter(listed)).map((id) => ({ availability_id: id, local_date_time_start: start, starts_at: start, status: 'AVAILABLE', vacancies, capacity: 50, raw: null })),
    }));

  async function pull(answers: OptionSnapshot[]): Promise<void> {
    await inPgTransaction(db.pool, (client) => db.pulls.reconcile(client, integrationId, answers));
  }

  /** The slots each transaction since `after` took, in the order it took them. */
  async function traced(after: number): Promise<string[][][]> {
    const { rows } = await db.pool.query<{ slots: string[][] }>('SELECT array_agg(slot ORDER BY n) AS slots FROM lock_trace WHERE n > $1 GROUP BY tx ORDER BY min(n)', [after]);
    return rows.map((row) => row.slots);
  }
  const lastTrace = async () => Number((await db.pool.query<{ n: string | null }>('SELECT max(n) AS n FROM lock_trace')).rows[0]?.n ?? 0);

  it('is a database whose collation orders the ids otherwise than bytes do', async () => {
    const { rows } = await db.pool.query<{ collated: string[]; bytes: string[] }>(
      `SELECT array_agg(x ORDER BY x) AS collated, array_agg(x ORDER BY x COLLATE "C") AS bytes FROM unnest(ARRAY['a', 'B', '_x']) AS x`,
    );
    expect(rows[0]).toEqual({ collated: ['_x', 'a', 'B'], bytes: ['B', '_x', 'a'] });
  });

  it('pushes and pulls take their slots in one order: bytes, the listed and the closed ones together', async () => {
    const before = await lastTrace();
    await db.availability.apply([pushRows(slots, 5)]);
    // Every other id listed (changed), the rest closed: both kinds interleave in the order.
    await pull(snapshots((id) => ids.indexOf(id) % 2 === 0, 6));
    const [pushed, pulled] = await traced(before);
    const expected = [...slots].sort(byBytes).map((slot) => [...slot]);
    expect(pushed).toEqual(expected);
    expect(pulled).toEqual(expected);
  });

  it('never deadlock when they run at once over the same slots', async () => {
    const failures: unknown[] = [];
    for (let round = 0; round < 12; round++) {
      const listed = (id: string) => (ids.indexOf(id) + round) % 3 !== 0;
      const pushing = db.availability.apply([pushRows(slots, 100 + round)]);
      const pulling = pull(snapshots(listed, 200 + round));
      for (const outcome of await Promise.allSettled([pushing, pulling])) if (outcome.status === 'rejected') failures.push(outcome.reason);
    }
    // No deadlock (40P01), nor any other failure.
    expect(failures.map((err) => sqlStateOf(err) ?? String(err))).toEqual([]);
  });
});

import { createDb, type Db, type OptionSnapshot, type SlotRow } from '@octo-sync/db';
import { createTestDatabase, createTestIntegration, inPgTransaction, type TestDatabase } from '@octo-sync/testkit';

/** Pull marks are kept per (option, window): a targeted refresh's mark stands beside the tier window's. */
describe('pull marks of two windows of one option', () => {
  let database: TestDatabase;
  let db: Db;
  let integrationId: string;
  const dayAfter = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
  const [near, far, tierEnd] = [dayAfter(1), dayAfter(20), dayAfter(30)];
  const startOn = (day: string) => `${day}T09:00:00+00:00`;
  let key = BigInt(Date.now()) * 1_000_000n;
  const nextKey = () => (key += 1_000n);

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'pull-marks-test' });
    integrationId = await createTestIntegration(db);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const answer = (from: string, to: string, answerKey: bigint, listed: ReadonlyArray<[string, string]>): OptionSnapshot => ({
    productId: 'p',
    optionId: 'o',
    from,
    to,
    answerKey,
    slots: listed.map(([id, day]) => ({ availability_id: id, local_date_time_start: startOn(day), starts_at: startOn(day), status: 'AVAILABLE', vacancies: 5, capacity: 10, raw: null })),
  });

  /** Reconciles `answers` and prunes the marks of their option as a pull does, in one transaction. */
  async function pull(answers: OptionSnapshot[], expiredBefore = dayAfter(-30)): Promise<void> {
    await inPgTransaction(db.pool, async (client) => {
      await db.pulls.reconcile(client, integrationId, answers);
      await db.pulls.pruneMarks(client, integrationId, answers, expiredBefore);
    });
  }

  const push = (id: string, day: string, received: bigint, vacancies: number): SlotRow => ({
    integration_id: integrationId, product_octo_id: 'p', option_octo_id: 'o', availability_id: id, local_date_time_start: startOn(day), starts_at: startOn(day),
    status: 'AVAILABLE', vacancies, capacity: 10, order_key: received.toString(), order_source: 'received_at', received_key: received.toString(), raw: null,
  });

  const marks = async () =>
    (await db.pool.query<{ window: string; key: string }>(`SELECT date_from || '..' || date_to AS window, answer_key::text AS key FROM availability_pull_marks WHERE integration_id = $1::uuid ORDER BY date_from, date_to`, [integrationId])).rows;
  const vacancies = async (id: string) =>
    (await db.pool.query<{ vacancies: number }>(`SELECT vacancies FROM availability_slots WHERE integration_id = $1::uuid AND availability_id = $2`, [integrationId, id])).rows[0]?.vacancies;

  test('a narrowed refresh keeps its own mark, the push check uses the newest mark covering the slot, and covered or expired marks are pruned', async () => {
    const tier = nextKey();
    await pull([answer(near, tierEnd, tier, [['A', near], ['B', far]])]);
    const between = nextKey();
    const narrow = nextKey();
    await pull([answer(far, far, narrow, [['B', far]])]);
    expect(await marks()).toEqual([
      { window: `${near}..${tierEnd}`, key: tier.toString() },
      { window: `${far}..${far}`, key: narrow.toString() },
    ]);

    // Received after the tier answer and before the narrow one: older than the narrow window's
    // answer (refused for B), newer than all that was said of A's date (applied).
    await db.availability.apply([[push('A', near, between, 1), push('B', far, between, 1)]]);
    expect(await vacancies('A')).toBe(1);
    expect(await vacancies('B')).toBe(5);

    // A newer tier answer covers the narrow window whole: the narrow mark decides nothing any more.
    const nextTier = nextKey();
    await pull([answer(near, tierEnd, nextTier, [['A', near], ['B', far]])]);
    expect(await marks()).toEqual([{ window: `${near}..${tierEnd}`, key: nextTier.toString() }]);

    // A mark whose window ended before the retention horizon goes with the next pull of its option.
    await db.pool.query(`INSERT INTO availability_pull_marks (integration_id, product_octo_id, option_octo_id, date_from, date_to, answer_key) VALUES ($1::uuid, 'p', 'o', $2, $2, 1)`, [integrationId, dayAfter(-60)]);
    await pull([answer(far, far, nextKey(), [['B', far]])]);
    expect((await marks()).map((m) => m.window)).toEqual([`${near}..${tierEnd}`, `${far}..${far}`]);

    // The tier window slides a day: the previous tier mark keeps only its first day, without its digest.
    const [nextDay, slidEnd] = [dayAfter(2), dayAfter(31)];
    await pull([answer(nextDay, slidEnd, nextKey(), [['B', far]])]);
    const kept = await db.pool.query<{ window: string; digest: string | null; window_digest: string | null }>(
      `SELECT date_from || '..' || date_to AS window, digest, window_digest FROM availability_pull_marks WHERE integration_id = $1::uuid ORDER BY date_from, date_to`,
      [integrationId],
    );
    expect(kept.rows).toEqual([
      { window: `${near}..${near}`, digest: null, window_digest: null },
      { window: `${nextDay}..${slidEnd}`, digest: null, window_digest: null },
    ]);
  });
});

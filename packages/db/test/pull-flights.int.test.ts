import { createDb, type Db, type OptionSnapshot, type SyncRun } from '@octo-sync/db';
import { claimedTestRun, createTestDatabase, createTestIntegration, type TestDatabase } from '@octo-sync/testkit';

/** Pulls are single-flight per (integration, pull scope), never behind a running catalog sync (pull-flight.ts). */
describe('pull flights', () => {
  let database: TestDatabase;
  let db: Db;
  const dayAfter = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
  const startOn = (day: string) => `${day}T09:00:00+00:00`;
  let key = BigInt(Date.now()) * 1_000_000n;
  const nextKey = () => (key += 1_000n);
  const WRITE_MS = 60_000;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'pull-flights-test' });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const pullRun = async (integrationId: string, pullScope: string | null = null): Promise<string> =>
    (await db.prisma.syncRun.create({ data: { integrationId, trigger: 'refresh', kind: 'availability_pull', pullScope } })).id;

  async function claimed(runId: string): Promise<{ run: SyncRun; fence: bigint }> {
    const claim = await db.runs.claim(runId, 60_000);
    if (claim.kind !== 'claimed') throw new Error(`expected a claim, got ${claim.kind}`);
    return claim;
  }

  const answer = (from: string, to: string, answerKey: bigint, listed: ReadonlyArray<[string, string, number]>): OptionSnapshot => ({
    productId: 'p',
    optionId: 'o',
    from,
    to,
    answerKey,
    slots: listed.map(([id, day, vacancies]) => ({ availability_id: id, local_date_time_start: startOn(day), starts_at: startOn(day), status: 'AVAILABLE', vacancies, capacity: 10, raw: null })),
  });

  /** One fenced pull write of `answers`, with its marks pruned, as the pull handler writes. */
  const pullWrite = (claim: { run: SyncRun; fence: bigint }, answers: OptionSnapshot[]) =>
    db.runs.withPullFence(claim.run, claim.fence, async (client) => {
      await db.pulls.reconcile(client, claim.run.integrationId, answers);
      await db.pulls.pruneMarks(client, claim.run.integrationId, answers, dayAfter(-30));
    }, WRITE_MS);

  const slots = async (integrationId: string) =>
    (await db.pool.query<{ id: string; vacancies: number; open: boolean }>(
      `SELECT availability_id AS id, vacancies, removed_at IS NULL AS open FROM availability_slots WHERE integration_id = $1::uuid ORDER BY availability_id`,
      [integrationId],
    )).rows;

  test('a pull claims and writes while a catalog run of its integration is running and deactivates the option in its open transaction', async () => {
    const catalog = await claimedTestRun(db);
    const integrationId = catalog.integration.id;
    const { rows } = await db.pool.query<{ id: string }>(`INSERT INTO products (integration_id, octo_id, raw, content_hash) VALUES ($1::uuid, 'p', '{}', 'x') RETURNING id::text`, [integrationId]);
    await db.pool.query(`INSERT INTO product_options (product_id, octo_id, raw, content_hash) VALUES ($1::bigint, 'o', '{}', 'x')`, [rows[0]!.id]);

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let deactivated!: () => void;
    const optionDeactivated = new Promise<void>((resolve) => (deactivated = resolve));
    const catalogWrite = db.runs.withFence(integrationId, catalog.fence, async (client) => {
      await client.query(`UPDATE product_options SET active = false, removed_at = now() WHERE octo_id = 'o' AND product_id = $1::bigint`, [rows[0]!.id]);
      deactivated();
      await released;
    }, WRITE_MS);
    await optionDeactivated;

    // The catalog run holds the integration's row lock until it is released: the pull neither
    // waits for it nor is refused, and its writes (rows whose key names the integration) commit.
    const pull = await claimed(await pullRun(integrationId));
    await pullWrite(pull, [answer(dayAfter(1), dayAfter(5), nextKey(), [['A', dayAfter(1), 4]])]);
    const finished = await db.runs.withPullFence(pull.run, pull.fence, (client) => db.runs.finishPull(client, pull.run, { slots: {} }, null), WRITE_MS);
    expect(finished.status).toBe('succeeded');
    release();
    await catalogWrite;

    expect(await slots(integrationId)).toEqual([{ id: 'A', vacancies: 4, open: true }]);
    expect((await db.pool.query(`SELECT active FROM product_options WHERE octo_id = 'o'`)).rows).toEqual([{ active: false }]);
    // The pull took neither the catalog run's fence nor its sync state.
    expect(await db.integrations.findById(integrationId)).toMatchObject({ syncStatus: 'syncing', syncFence: catalog.fence });
    await expect(db.runs.withFence(integrationId, catalog.fence, (client) => db.runs.finish(client, catalog.run, catalogOutcome), WRITE_MS)).resolves.toMatchObject({ status: 'succeeded' });
  });

  test('pulls of one scope run one at a time (concurrent claims: one wins), other scopes beside them, and a stalled one is abandoned in its flight only', async () => {
    const integrationId = await createTestIntegration(db);
    const same = await Promise.all(Array.from({ length: 6 }, () => pullRun(integrationId)));
    const claims = await Promise.all(same.map((id) => db.runs.claim(id, 60_000)));
    expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
    const winner = claims.find((c) => c.kind === 'claimed')!;
    if (winner.kind !== 'claimed') throw new Error('unreachable');
    expect(claims.filter((c) => c.kind === 'busy').map((c) => c.kind === 'busy' && c.blockingRunId)).toEqual(Array(5).fill(winner.run.id));

    const tier = await claimed(await pullRun(integrationId, '["tier",1]'));
    const catalog = await db.runs.claim((await db.runs.requestRun(integrationId, 'webhook')).runId, 60_000);
    expect(catalog.kind).toBe('claimed');

    // The whole pull stalled past the abandon-after: the next of its flight takes over, and only its fence moves.
    await db.prisma.syncRun.update({ where: { id: winner.run.id }, data: { startedAt: new Date(Date.now() - 2 * 3_600_000) } });
    const next = await claimed(same.find((id) => id !== winner.run.id)!);
    expect(await db.runs.findRun(winner.run.id)).toMatchObject({ status: 'failed', errorCode: 'RUN_ABANDONED' });
    expect(await db.runs.findRun(tier.run.id)).toMatchObject({ status: 'running' });
    await expect(pullWrite(winner, [answer(dayAfter(1), dayAfter(2), nextKey(), [])])).rejects.toMatchObject({ code: 'STALE_RUN' });
    await expect(pullWrite(tier, [answer(dayAfter(1), dayAfter(2), nextKey(), [])])).resolves.toBeUndefined();
    await expect(pullWrite(next, [answer(dayAfter(1), dayAfter(2), nextKey(), [])])).resolves.toBeUndefined();

    // A pull's failure is recorded under its flight's fence and leaves the catalog's state alone.
    expect(await db.runs.fail(winner.run, winner.fence, { code: 'LATE', message: 'late', final: true })).toBe(false);
    expect(await db.runs.fail(next.run, next.fence, { code: 'SUPPLIER_TIMEOUT', message: 'slow', final: true })).toBe(true);
    expect(await db.integrations.findById(integrationId)).toMatchObject({ syncStatus: 'syncing', syncErrorCode: null });
    // Abandoning a running pull bumps its flight's fence: its attempt writes nothing after.
    expect(await db.runs.abandon(tier.run.id)).toBe(true);
    await expect(pullWrite(tier, [answer(dayAfter(1), dayAfter(2), nextKey(), [])])).rejects.toMatchObject({ code: 'STALE_RUN' });
    if (catalog.kind === 'claimed') await expect(db.runs.withFence(integrationId, catalog.fence, async () => 'written', WRITE_MS)).resolves.toBe('written');
  });

  test('retention deletes the flights no queued or running pull needs, and a flight made again never repeats a fence', async () => {
    const integrationId = await createTestIntegration(db);
    const stalled = await claimed(await pullRun(integrationId, 'hint-a'));
    const running = await claimed(await pullRun(integrationId, 'hint-b'));
    expect(await db.runs.abandon(stalled.run.id)).toBe(true);
    // A cutoff past both claims: only the flight with a run still running stays.
    await db.runs.prune({ kind: 'availability_pull', before: new Date(Date.now() + 60_000), keepNewest: 1 }, { batch: 100, maxBatches: 1 });
    const flights = await db.pool.query<{ scope: string }>('SELECT scope FROM pull_flights WHERE integration_id = $1::uuid', [integrationId]);
    expect(flights.rows.map((f) => f.scope)).toEqual(['hint-b']);

    const again = await claimed(await pullRun(integrationId, 'hint-a'));
    expect(again.fence).toBeGreaterThan(running.fence);
    await expect(pullWrite(stalled, [answer(dayAfter(1), dayAfter(2), nextKey(), [])])).rejects.toMatchObject({ code: 'STALE_RUN' });
    await expect(pullWrite(again, [answer(dayAfter(1), dayAfter(2), nextKey(), [])])).resolves.toBeUndefined();
  });

  test('retention keeps a flight claimed after its cutoff even when no run of it looks queued or running', async () => {
    const integrationId = await createTestIntegration(db);
    const pull = await claimed(await pullRun(integrationId, 'hint-c'));
    // What a prune whose snapshot began before the claim sees: the flight, and no live run of it.
    await db.pool.query(`UPDATE sync_runs SET status = 'succeeded', finished_at = now() WHERE id = $1::uuid`, [pull.run.id]);
    const scopes = async () => (await db.pool.query<{ scope: string }>('SELECT scope FROM pull_flights WHERE integration_id = $1::uuid', [integrationId])).rows.map((f) => f.scope);
    await db.runs.prune({ kind: 'availability_pull', before: new Date(Date.now() - 60_000), keepNewest: 1 }, { batch: 100, maxBatches: 1 });
    expect(await scopes()).toEqual(['hint-c']);
    await db.pool.query(`UPDATE sync_runs SET status = 'running', finished_at = NULL WHERE id = $1::uuid`, [pull.run.id]);
    await expect(pullWrite(pull, [answer(dayAfter(1), dayAfter(2), nextKey(), [])])).resolves.toBeUndefined();
  });

  test("a pull's fence check gives up at its deadline while another session holds its flight's row lock, and sets the deadline for the statements after it", async () => {
    const integrationId = await createTestIntegration(db);
    const claim = await claimed(await pullRun(integrationId, 'deadline'));
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM pull_flights WHERE integration_id = $1::uuid AND scope = 'deadline' FOR UPDATE`, [integrationId]);
      // Without a bound on the lock wait, this would wait for the holder, which waits for it: the test would time out.
      await expect(db.runs.withPullFence(claim.run, claim.fence, () => Promise.resolve(), 500)).rejects.toThrow(/lock timeout/);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    const settings = await db.runs.withPullFence(claim.run, claim.fence, async (client) => (await client.query<{ s: string; l: string }>(`SELECT current_setting('statement_timeout') AS s, current_setting('lock_timeout') AS l`)).rows[0], 4_000);
    expect(settings).toEqual({ s: '4s', l: '4s' });
  });

  test('pulls of two flights over one option and dates: an older answer never overwrites a newer one, in whichever order they commit', async () => {
    for (let round = 0; round < 6; round += 1) {
      const integrationId = await createTestIntegration(db);
      const tier0 = await claimed(await pullRun(integrationId, '["tier",0]'));
      const tier1 = await claimed(await pullRun(integrationId, '["tier",1]'));
      const [older, newer] = [nextKey(), nextKey()];
      // The newer answer (wider window) lists A with 3 and no longer lists B; the older listed both.
      const olderWrite = () => pullWrite(tier0, [answer(dayAfter(1), dayAfter(3), older, [['A', dayAfter(1), 9], ['B', dayAfter(2), 9]])]);
      const newerWrite = () => pullWrite(tier1, [answer(dayAfter(1), dayAfter(10), newer, [['A', dayAfter(1), 3], ['C', dayAfter(8), 1]])]);
      if (round % 3 === 0) await newerWrite().then(olderWrite);
      else if (round % 3 === 1) await olderWrite().then(newerWrite);
      else await Promise.all(round % 2 === 0 ? [newerWrite(), olderWrite()] : [olderWrite(), newerWrite()]);
      const open = (await slots(integrationId)).filter((s) => s.open).map(({ id, vacancies }) => ({ id, vacancies }));
      expect(open).toEqual([{ id: 'A', vacancies: 3 }, { id: 'C', vacancies: 1 }]);
    }
  });
});

const catalogOutcome = { status: 'succeeded' as const, payloadBytes: 1, hash: 'h', payloadDigest: null, counts: null, warnings: null, synced: 0, wroteCatalog: false };

import { createDb, type Db, type RunOutcome } from '@octo-sync/db';
import { claimedTestRun, createTestDatabase, createTestIntegration, waitFor, type TestDatabase } from '@octo-sync/testkit';

/** Every write of a claimed run goes through the one fenced path: the catalog, `finish` and `fail`. */
describe('SyncRunStore: the fenced writes of a run', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'sync-runs-test-key' });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const claimedRun = () => claimedTestRun(db);

  const outcome: RunOutcome = {
    status: 'succeeded',
    payloadBytes: 1234,
    hash: 'catalog-hash',
    payloadDigest: 'payload-digest',
    counts: {
      products: { created: 1, updated: 0, unchanged: 0, removed: 0, quarantined: 1 },
      options: { created: 1, updated: 0, unchanged: 0, removed: 0 },
      units: { created: 2, updated: 0, unchanged: 0, removed: 0 },
    },
    warnings: { items: [{ product_id: null, path: '[1].id', reason: 'no id' }], omitted: 0 },
    synced: 1,
    wroteCatalog: true,
  };

  test('finish returns the run exactly as it is stored, and the integration is idle with the new hashes', async () => {
    const { run, fence, integration } = await claimedRun();
    const finished = await db.runs.withFence(integration.id, fence, (client) => db.runs.finish(client, run, outcome), 5_000);
    expect(finished).toEqual(await db.runs.findRun(run.id));
    expect(finished).toMatchObject({ status: 'succeeded', payloadBytes: 1234, hash: 'catalog-hash', synced: 1, counts: outcome.counts, warnings: outcome.warnings, errorCode: null });
    expect(finished.durationMs).toEqual(expect.any(Number));
    expect(await db.integrations.findById(integration.id)).toMatchObject({
      syncStatus: 'idle',
      lastSyncHash: 'catalog-hash',
      lastPayloadDigest: 'payload-digest',
      lastSyncAt: finished.finishedAt,
    });
  });

  test("finish records the catalog's language (absent: kept) and another store's write in its own statement", async () => {
    const { run, fence, integration } = await claimedRun();
    const statements: string[] = [];
    const baseline = db.shapes.write(integration.id, { kind: 'baseline', hash: 'shape-1', shape: { paths: [] } });
    await db.runs.withFence(integration.id, fence, (client) => db.runs.finish({ query: (sql, values) => (statements.push(sql), client.query(sql, values)) }, run, { ...outcome, catalogLocale: 'de' }, baseline), 5_000);
    expect(statements).toHaveLength(1);
    expect(await db.integrations.findById(integration.id)).toMatchObject({ catalogLocale: 'de' });
    expect(await db.shapes.load(integration.id)).toEqual({ hash: 'shape-1', shape: { paths: [] }, pendingHash: null });
    await db.runs.withFence(integration.id, fence, (client) => db.runs.finish(client, run, outcome), 5_000);
    expect(await db.integrations.findById(integration.id)).toMatchObject({ catalogLocale: 'de' });
  });

  test('fail sends a retryable failure back to the queue, ends a final one, and a stale attempt writes nothing', async () => {
    const { run: stalled, fence: stalledFence, integration } = await claimedRun();
    const takeover = await db.runs.claim(stalled.id, 60_000);
    if (takeover.kind !== 'claimed') throw new Error('expected the takeover to claim the run');

    expect(await db.runs.fail(stalled, stalledFence, { code: 'LATE', message: 'late', final: true })).toBe(false);
    expect(await db.runs.findRun(stalled.id)).toMatchObject({ status: 'running', errorCode: null });

    expect(await db.runs.fail(takeover.run, takeover.fence, { code: 'SUPPLIER_TIMEOUT', message: 'slow', final: false, payloadBytes: 7 })).toBe(true);
    expect(await db.runs.findRun(stalled.id)).toMatchObject({ status: 'queued', finishedAt: null, durationMs: null, errorCode: 'SUPPLIER_TIMEOUT', payloadBytes: 7 });
    expect(await db.integrations.findById(integration.id)).toMatchObject({ syncStatus: 'error', syncErrorCode: 'SUPPLIER_TIMEOUT', syncErrorMessage: 'slow' });

    expect(await db.runs.fail(takeover.run, takeover.fence, { code: 'CATALOG_INVALID', message: 'broken', final: true })).toBe(true);
    const failed = await db.runs.findRun(stalled.id);
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'CATALOG_INVALID', errorMessage: 'broken', payloadBytes: 7 });
    expect(failed?.finishedAt).toBeInstanceOf(Date);
    expect(failed?.durationMs).toEqual(expect.any(Number));
  });

  test('a write that outlives its deadline is rolled back', async () => {
    const { run, fence, integration } = await claimedRun();
    const slow = db.runs.withFence(
      integration.id,
      fence,
      async (client) => {
        await db.runs.finish(client, run, outcome);
        await client.query('SELECT pg_sleep(30)');
      },
      300,
    );
    await expect(slow).rejects.toThrow();
    expect(await db.runs.findRun(run.id)).toMatchObject({ status: 'running', hash: null });
  });

  test("the fence check gives up at the deadline when another session holds the integration's row lock", async () => {
    const { run, fence, integration } = await claimedRun();
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM integrations WHERE id = $1::uuid FOR UPDATE', [integration.id]);
      // Without a bound on the lock wait, this would wait for the holder, which waits for it: the test would time out.
      await expect(db.runs.withFence(integration.id, fence, (client) => db.runs.finish(client, run, outcome), 500)).rejects.toThrow(/lock timeout/);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(await db.runs.findRun(run.id)).toMatchObject({ status: 'running', hash: null });
  });

  test('a claim that waited for the integration row lock sees the run its holder claimed meanwhile: busy, never two running', async () => {
    const integrationId = await createTestIntegration(db);
    const [first, second] = await Promise.all([0, 1].map(() => db.prisma.syncRun.create({ data: { integrationId, trigger: 'webhook' } })));
    const holder = await db.pool.connect();
    try {
      // What a claim of `first` does in the holder's transaction: the row lock, then the run started and the fence bumped.
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM integrations WHERE id = $1::uuid FOR NO KEY UPDATE', [integrationId]);
      await holder.query(`UPDATE sync_runs SET status = 'running', started_at = clock_timestamp() WHERE id = $1::uuid`, [first!.id]);
      await holder.query('UPDATE integrations SET sync_fence = sync_fence + 1 WHERE id = $1::uuid', [integrationId]);
      const claiming = db.runs.claim(second!.id, 60_000);
      await waitFor('the claim to wait for the row lock', async () =>
        ((await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%sync_run_claim(%'`)).rowCount ?? 0) > 0);
      await holder.query('COMMIT');
      // A claim whose snapshot predates the lock would see `first` still queued and start `second` beside it.
      expect(await claiming).toEqual({ kind: 'busy', blockingRunId: first!.id });
    } finally {
      holder.release();
    }
    expect(await db.runs.findRun(second!.id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  test('abandoning a run its queue gave up on closes it, and its attempt can no longer write', async () => {
    const { run, fence, integration } = await claimedRun();
    expect(await db.runs.abandon(run.id)).toBe(true);
    expect(await db.runs.findRun(run.id)).toMatchObject({ status: 'failed', errorCode: 'RUN_ABANDONED', finishedAt: expect.any(Date), durationMs: expect.any(Number) });
    expect(await db.integrations.findById(integration.id)).toMatchObject({ syncStatus: 'error', syncErrorCode: 'RUN_ABANDONED', syncFence: fence + 1n });
    await expect(db.runs.withFence(integration.id, fence, (client) => db.runs.finish(client, run, outcome), 5_000)).rejects.toMatchObject({ code: 'STALE_RUN' });
    // Finished already: nothing to record.
    expect(await db.runs.abandon(run.id)).toBe(false);
  });

  test('lastSettledRun: the newest of the integration\'s last runs that got anywhere, none beyond them', async () => {
    const integrationId = await createTestIntegration(db);
    const { runId } = await db.runs.requestRun(integrationId, 'webhook');
    // Copies of the requested run, `age` minutes old, with the given end; ids made afresh.
    const addRun = (age: number, durationMs: number | null, errorCode: string | null) =>
      db.pool.query(
        `INSERT INTO sync_runs SELECT (jsonb_populate_record(NULL::sync_runs, to_jsonb(r) || jsonb_build_object('id', gen_random_uuid(), 'status', 'failed',
           'queued_at', now() - make_interval(mins => $2::int), 'duration_ms', $3::int, 'error_code', $4::text))).* FROM sync_runs r WHERE r.id = $1::uuid`,
        [runId, age, durationMs, errorCode],
      );
    await db.pool.query(`UPDATE sync_runs SET queued_at = now() - interval '1 day' WHERE id = $1::uuid`, [runId]);
    await addRun(60, 9_000, null);
    for (let age = 50; age > 10; age -= 10) await addRun(age, null, null);
    expect(await db.runs.lastSettledRun(integrationId, 4)).toBeNull();
    expect(await db.runs.lastSettledRun(integrationId, 5)).toEqual({ errorCode: null, durationMs: 9_000 });
    await addRun(5, null, 'SUPPLIER_TIMEOUT');
    expect(await db.runs.lastSettledRun(integrationId, 5)).toEqual({ errorCode: 'SUPPLIER_TIMEOUT', durationMs: null });
  });
});

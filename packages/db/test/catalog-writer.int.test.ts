import { createDb, type Db, type OptionRow, type ProductRow, type RunTx, type SliceRows, type UnitRow } from '@octo-sync/db';
import { claimedTestRun, createTestDatabase, waitFor, type TestDatabase } from '@octo-sync/testkit';
import { Pool } from 'pg';

/**
 * A small run's rows go as `jsonb` parameters; a large one's are COPY'd into a leased lane of
 * `catalog_stage` before its fenced transaction opens, which merges only the rows of its own run
 * and fence after checking their count and digest. Neither creates a table (no catalog churn, and
 * it works through transaction-mode PgBouncer), and both store the same rows.
 */
describe('CatalogRunWriter', () => {
  let database: TestDatabase;
  let db: Db;
  /** A session of the test's own, outside the writer's pool of 2. */
  let side: Pool;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'catalog-writer-test-key', poolSize: 2 });
    side = new Pool({ connectionString: database.url, max: 2 });
  });
  afterAll(async () => {
    await side?.end();
    await db?.close();
    await database?.drop();
  });

  const product = (id: string, units: number): ProductRow => ({
    octo_id: id, internal_name: `Tour "x"\t\\`, reference: null, title: 'Süd – 東京', locale: 'en', time_zone: 'Europe/Paris', availability_type: 'START_TIME',
    default_currency: 'EUR', pricing_per: 'UNIT', raw: null, raw_json: `{"id":${JSON.stringify(id)},"n":1.50,"deep":{"a":[1,"x"]}}`, content_hash: `h-${id}`,
    raw_hash: `r-${id}`, tree_hash: `t-${id}`, option_count: 1, unit_count: units,
  });
  const option = (productId: string): OptionRow => ({
    product_octo_id: productId, octo_id: 'DEFAULT', is_default: true, internal_name: 'Morning', reference: 'ref', availability_local_start_times: ['09:00', 'a"b'],
    cancellation_cutoff_amount: 24, cancellation_cutoff_unit: 'hour', min_units: 1, max_units: null, pricing_from: [{ currency: 'EUR', retail: 1000 }], raw: { id: 'DEFAULT' }, content_hash: 'ho',
  });
  const unit = (productId: string, i: number): UnitRow => ({
    product_octo_id: productId, option_octo_id: 'DEFAULT', octo_id: `unit-${i}`, internal_name: null, reference: null, type: 'ADULT', min_age: 18, max_age: null,
    min_quantity: null, max_quantity: 9, pax_count: 1, pricing_from: null, raw: { id: `unit-${i}` }, content_hash: `hu-${i}`,
  });
  const slice = (productId: string, units: number): SliceRows => ({ products: [product(productId, units)], options: [option(productId)], units: Array.from({ length: units }, (_, i) => unit(productId, i)) });

  /** Tables this database has: a write must not add any. */
  const tableCount = async (tx: RunTx) => Number((await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_class WHERE relkind IN ('r', 'p')`)).rows[0]!.n);
  const leasedLanes = async () => Number((await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM catalog_stage_lanes WHERE run_id IS NOT NULL')).rows[0]!.n);
  const stagedRows = async () => Number((await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM catalog_stage')).rows[0]!.n);

  /** Writes `rows` (one product's) as a run would; `meanwhile` runs once the rows are staged, before the transaction. */
  async function write(rows: SliceRows, meanwhile: (lane: number | undefined) => Promise<void> = async () => {}): Promise<{ tablesBefore: number; tablesAfter: number; lane: number | undefined }> {
    const { integration, fence, run } = await claimedTestRun(db);
    const stored = await db.catalog.loadFingerprints(integration.id);
    const writer = db.catalog.openWriter({ id: run.id, fence, integrationId: integration.id }, stored);
    try {
      await writer.add(rows);
      await writer.seal({ removedProducts: [], removedOptions: [], removedUnits: [] });
      const lane = (await db.pool.query<{ lane: number }>('SELECT lane FROM catalog_stage_lanes WHERE run_id = $1::uuid', [run.id])).rows[0]?.lane;
      await meanwhile(lane);
      return await db.runs.withFence(integration.id, fence, async (tx) => {
        const tablesBefore = await tableCount(tx);
        await writer.merge(tx);
        await writer.publish(tx);
        return { tablesBefore, tablesAfter: await tableCount(tx), lane };
      }, 30_000);
    } finally {
      await writer.release();
    }
  }

  const storedRows = async (productId: string) => {
    const { rows } = await db.pool.query(
      `SELECT p.internal_name, p.title, p.raw::text AS raw, p.content_hash, f.raw_hash, f.tree_hash, f.option_count, o.availability_local_start_times, o.pricing_from,
         o.raw AS option_raw, o.max_units, u.octo_id AS unit, u.raw AS unit_raw, u.max_quantity, u.min_age
       FROM products p JOIN product_fingerprints f ON f.product_id = p.id JOIN product_options o ON o.product_id = p.id JOIN units u ON u.option_id = o.id
       WHERE p.octo_id = $1 AND u.octo_id IN ('unit-0', 'unit-1', 'unit-2') ORDER BY u.octo_id`,
      [productId],
    );
    return rows;
  };
  const eventCount = async (productId: string) => Number((await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM change_events WHERE product_octo_id = $1', [productId])).rows[0]!.n);

  test('a small run stages nothing, a large one uses a lane it empties and frees; neither creates a table, and both store the same rows and events', async () => {
    const small = await write(slice('small', 3));
    expect(small).toMatchObject({ lane: undefined, tablesAfter: small.tablesBefore });
    const large = await write(slice('large', 2_500));
    expect(large.lane).toEqual(expect.any(Number));
    expect(large.tablesAfter).toBe(large.tablesBefore);
    expect(await leasedLanes()).toBe(0);
    expect(await stagedRows()).toBe(0);
    const smallRows = await storedRows('small');
    expect(smallRows).toHaveLength(3);
    expect(smallRows[0]).toMatchObject({ internal_name: 'Tour "x"\t\\', title: 'Süd – 東京', raw: '{"n": 1.50, "id": "small", "deep": {"a": [1, "x"]}}', availability_local_start_times: ['09:00', 'a"b'], max_units: null, unit_raw: { id: 'unit-0' }, min_age: 18 });
    const normalise = (rows: Array<Record<string, unknown>>) => rows.map((r) => ({ ...r, raw: String(r.raw).replaceAll('large', 'small'), content_hash: 'x', raw_hash: 'x', tree_hash: 'x' }));
    expect(normalise(await storedRows('large'))).toEqual(normalise(smallRows));
    expect(await eventCount('small')).toBe(1 + 1 + 3);
    expect(await eventCount('large')).toBe(1 + 1 + 2_500);
  });

  test('a small run that removes nothing writes its rows and appends their events in one statement', async () => {
    const { integration, fence, run } = await claimedTestRun(db);
    const writer = db.catalog.openWriter({ id: run.id, fence, integrationId: integration.id }, await db.catalog.loadFingerprints(integration.id));
    await writer.add(slice('one-trip', 3));
    await writer.seal({ removedProducts: [], removedOptions: [], removedUnits: [] });
    const statements = await db.runs.withFence(integration.id, fence, async (tx) => {
      let sent = 0;
      const counted: RunTx = { query: (sql, values) => ((sent += 1), tx.query(sql, values)) };
      await writer.merge(counted);
      await writer.publish(counted);
      return sent;
    }, 30_000);
    await writer.release();
    expect(statements).toBe(1);
    expect(await eventCount('one-trip')).toBe(1 + 1 + 3);
    const { rows } = await db.pool.query<{ event_count: number }>(
      'SELECT h.event_count FROM change_transactions h WHERE h.id IN (SELECT txn_id FROM change_events WHERE product_octo_id = $1)',
      ['one-trip'],
    );
    expect(rows).toEqual([{ event_count: 5 }]);
  });

  test('rows a stalled attempt COPYs late into the lane, under an older fence, are never merged', async () => {
    const late = async (lane: number | undefined) => {
      // What a worker that lost its fence would add: its own run id, an older fence, other rows.
      await db.pool.query(
        `INSERT INTO catalog_stage (lane, run_id, fence, kind, product_id, product_octo_id, octo_id, content_hash, tree_hash, option_count, unit_count, raw)
         SELECT $1, run_id, fence - 1, 'p', NULL, 'stalled-' || g, 'stalled-' || g, 'h', 't', 0, 0, '{}'::jsonb
         FROM catalog_stage_lanes, generate_series(1, 5) g WHERE lane = $1`,
        [lane],
      );
    };
    await write(slice('takeover', 2_100), late);
    expect(await storedRows('takeover')).toHaveLength(3);
    expect((await db.pool.query(`SELECT 1 FROM products WHERE octo_id LIKE 'stalled-%'`)).rowCount).toBe(0);
    expect(await stagedRows()).toBe(0);
  });

  test('a lane that lost staged rows fails the merge with STAGING_MISMATCH, and nothing is written', async () => {
    const lose = async (lane: number | undefined) => {
      await db.pool.query(`DELETE FROM catalog_stage WHERE lane = $1 AND octo_id = 'unit-7'`, [lane]);
    };
    await expect(write(slice('lost', 2_100), lose)).rejects.toMatchObject({ code: 'STAGING_MISMATCH' });
    expect(await storedRows('lost')).toHaveLength(0);
    expect(await leasedLanes()).toBe(0);
  });

  test('a lane holding as many rows as the run staged, one of them altered, fails the merge with STAGING_MISMATCH, and nothing is written', async () => {
    const alter = async (lane: number | undefined) => {
      await db.pool.query(`UPDATE catalog_stage SET content_hash = 'altered' WHERE lane = $1 AND octo_id = 'unit-7'`, [lane]);
    };
    await expect(write(slice('altered', 2_100), alter)).rejects.toMatchObject({ code: 'STAGING_MISMATCH', message: expect.stringContaining('another digest') });
    expect(await storedRows('altered')).toHaveLength(0);
    expect(await leasedLanes()).toBe(0);
  });

  test('ids holding COPY escapes, separators, non-BMP characters or nothing at all are staged and merged as they are', async () => {
    // Each text COPY escapes or that could pass for a field's bounds, and what the partner's JSON may hold.
    const odd = ['tab\there', 'new\nline', 'cr\rhere', 'back\\slash', '\\N', '\\x41', '\\', '1:x', 'N', '', '😀𝄞 東京'];
    const productId = 'p\t\n\\N😀';
    const optionId = 'o\\\t𝄞';
    const rows = slice(productId, 2_100);
    const staged: SliceRows = {
      products: rows.products,
      options: rows.options.map((o) => ({ ...o, octo_id: optionId })),
      units: rows.units.map((u, i) => ({ ...u, option_octo_id: optionId, octo_id: odd[i] ?? u.octo_id, content_hash: odd[i] ?? u.content_hash })),
    };
    const { lane } = await write(staged);
    expect(lane).toEqual(expect.any(Number));
    const { rows: stored } = await db.pool.query<{ octo_id: string; content_hash: string }>(
      `SELECT u.octo_id, u.content_hash FROM products p JOIN product_options o ON o.product_id = p.id JOIN units u ON u.option_id = o.id
       WHERE p.octo_id = $1 AND o.octo_id = $2`,
      [productId, optionId],
    );
    expect(stored).toHaveLength(2_100);
    expect(stored.filter((u) => odd.includes(u.octo_id)).map((u) => [u.octo_id, u.content_hash]).sort()).toEqual(odd.map((id) => [id, id]).sort());
  });

  test('more large runs than lanes wait for one and all succeed', async () => {
    // Two lanes instead of 64: the lanes table says which lanes runs may lease.
    await db.pool.query('DELETE FROM catalog_stage_lanes WHERE lane >= 2');
    try {
      const written = await Promise.all(Array.from({ length: 5 }, (_, i) => write(slice(`queued-${i}`, 2_100))));
      expect(written.map((w) => w.lane).filter((lane) => lane !== 0 && lane !== 1)).toEqual([]);
      for (let i = 0; i < 5; i++) expect(await storedRows(`queued-${i}`)).toHaveLength(3);
      expect(await leasedLanes()).toBe(0);
    } finally {
      await db.pool.query('INSERT INTO catalog_stage_lanes (lane) SELECT g FROM generate_series(2, 63) g ON CONFLICT DO NOTHING');
    }
  });

  test('a lease is not seen before its lane is emptied, so no late TRUNCATE can empty a lane another run leased since', async () => {
    const holder = await side.connect();
    let writing: Promise<unknown> | undefined;
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE catalog_stage IN ACCESS SHARE MODE');
      writing = write(slice('emptied-first', 2_100));
      await waitFor('the lease to wait for the lock on its TRUNCATE', async () => {
        const { rows } = await side.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'TRUNCATE%'`);
        return rows.length > 0;
      });
      expect(Number((await side.query<{ n: string }>('SELECT count(*)::text AS n FROM catalog_stage_lanes WHERE run_id IS NOT NULL')).rows[0]!.n)).toBe(0);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    await writing;
    expect(await storedRows('emptied-first')).toHaveLength(3);
  });
});

import { createDb, type Db, type OptionRow, type ProductRow, type UnitRow } from '@octo-sync/db';
import { claimedTestRun, createTestDatabase, type TestDatabase } from '@octo-sync/testkit';
import type { PoolClient } from 'pg';

/**
 * A small slice's rows go as one `jsonb` parameter (no staging table: no catalog churn, and it
 * works through transaction-mode PgBouncer); a large one is COPY'd into staging tables. Both store
 * the same rows.
 */
describe('CatalogCopyWriter: small slices without a staging table', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    // Without the change feed, whose own staging is not this writer's.
    db = createDb({ databaseUrl: database.url, secretsKey: 'catalog-writer-test-key', poolSize: 2, changeFeed: false });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const claimedRun = () => claimedTestRun(db);

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

  /** Temporary tables this session holds. */
  const tempTables = async (client: PoolClient) =>
    Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_class WHERE relnamespace = pg_my_temp_schema()`)).rows[0]!.n);

  async function write(productId: string, units: number): Promise<number> {
    const { integration, fence } = await claimedRun();
    const stored = await db.catalog.loadFingerprints(integration.id);
    return db.runs.withFence(integration.id, fence, async (client) => {
      const writer = await db.catalog.openWriter(client, integration.id, stored);
      await writer.upsert({ products: [product(productId, units)], options: [option(productId)], units: Array.from({ length: units }, (_, i) => unit(productId, i)) });
      return tempTables(client);
    }, 30_000);
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

  test('a small slice creates no temporary table, a large one its staging tables, and both store the same rows', async () => {
    expect(await write('small', 3)).toBe(0);
    expect(await write('large', 2_500)).toBe(3);
    const small = await storedRows('small');
    expect(small).toHaveLength(3);
    expect(small[0]).toMatchObject({ internal_name: 'Tour "x"\t\\', title: 'Süd – 東京', raw: '{"n": 1.50, "id": "small", "deep": {"a": [1, "x"]}}', availability_local_start_times: ['09:00', 'a"b'], max_units: null, unit_raw: { id: 'unit-0' }, min_age: 18 });
    const large = await storedRows('large');
    const normalise = (rows: Array<Record<string, unknown>>) => rows.map((r) => ({ ...r, raw: String(r.raw).replaceAll('large', 'small'), content_hash: 'x', raw_hash: 'x', tree_hash: 'x' }));
    expect(normalise(large)).toEqual(normalise(small));
  });
});

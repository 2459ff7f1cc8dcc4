import type { Pool } from 'pg';
import { createDb, type Db, type SlotRow } from '@octo-sync/db';
import { createTestDatabase, createTestIntegration, type TestDatabase } from '@octo-sync/testkit';
import { CatalogReadStore } from '../src/catalog/catalog-read.store';

const monthOf = (offset: number) => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 10);
};
const partitionOf = (month: string) => `availability_slots_p${month.slice(0, 4)}${month.slice(5, 7)}`;

/**
 * The read API's slot list bounds its scan by the months its `from`/`to` can fall in
 * (startMonths, slot-placement.ts), so Postgres prunes the other monthly partitions: a read of
 * a few days costs the same however many months of slots are stored.
 */
describe('slot reads by start', () => {
  let database: TestDatabase;
  let db: Db;
  let integrationId: string;
  let key = BigInt(Date.now()) * 1_000_000n;
  // The statements the read store sends, recorded on their way to the real pool, to EXPLAIN them.
  const sent: Array<{ sql: string; values: unknown[] }> = [];
  let reads: CatalogReadStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'slot-read-pruning-test', poolSize: 4 });
    integrationId = await createTestIntegration(db);
    const recording = { query: (sql: string, values: unknown[]) => (sent.push({ sql, values }), db.pool.query(sql, values)) };
    reads = new CatalogReadStore(recording as unknown as Pool);
    const push = (availabilityId: string, start: string | null): SlotRow => {
      const k = (key += 1_000n).toString();
      return { integration_id: integrationId, product_octo_id: 'P', option_octo_id: 'O', availability_id: availabilityId, local_date_time_start: start, starts_at: start === null ? null : new Date(start).toISOString(), status: 'AVAILABLE', vacancies: 1, capacity: 10, order_key: k, order_source: 'received_at', received_key: k, raw: null };
    };
    // Local midnight-thirty on the first of a month, two hours ahead of UTC: the previous month in UTC.
    await db.availability.apply([[push('boundary', `${monthOf(2)}T00:30:00+02:00`), push('now', `${monthOf(0)}T10:00:00+00:00`), push('far', `${monthOf(5)}T10:00:00+00:00`), push('undated', null)]]);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  /** The partitions each statement of the last read scans, as Postgres plans it with the read's parameters. */
  const scannedByLastRead = async (): Promise<string[][]> => {
    const statements = sent.splice(0);
    expect(statements.length).toBeGreaterThan(0);
    return Promise.all(
      statements.map(async ({ sql, values }) => {
        const { rows } = await db.pool.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, values);
        return slotScans(rows[0]!['QUERY PLAN']);
      }),
    );
  };

  it('scans only the months of the asked range, a day wider each side, and finds a slot whose local month differs from its UTC one', async () => {
    const page = await reads.listSlots(integrationId, { productId: 'P', from: new Date(`${monthOf(2)}T00:00:00+02:00`), to: new Date(`${monthOf(2)}T01:00:00+02:00`), page: 1, pageSize: 20 });
    expect(page.items.map((s) => s.availability_id)).toEqual(['boundary']);
    const asked = new Set([partitionOf(monthOf(1)), partitionOf(monthOf(2))]);
    for (const scanned of await scannedByLastRead()) {
      expect(scanned.length).toBeGreaterThan(0);
      for (const part of scanned) expect(asked).toContain(part);
    }
  });

  it('skips the undated partition when only one bound is given, and scans every partition without bounds', async () => {
    const fromOnly = await reads.listSlots(integrationId, { from: new Date(`${monthOf(4)}T00:00:00Z`), page: 1, pageSize: 20 });
    expect(fromOnly.items.map((s) => s.availability_id)).toEqual(['far']);
    for (const scanned of await scannedByLastRead()) {
      expect(scanned).not.toContain('availability_slots_undated');
      expect(scanned).not.toContain(partitionOf(monthOf(2)));
    }
    const all = await reads.listSlots(integrationId, { page: 1, pageSize: 20 });
    expect(all.items.map((s) => s.availability_id)).toEqual(['now', 'boundary', 'far', 'undated']);
    for (const scanned of await scannedByLastRead()) expect(scanned).toContain('availability_slots_undated');
  });
});

/** The slot partitions a plan scans (any relation named availability_slots_…). */
function slotScans(plan: unknown): string[] {
  const found: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    const relation = node['Relation Name'];
    if (typeof relation === 'string' && relation.startsWith('availability_slots_')) found.push(relation);
    for (const child of (node['Plans'] as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
  };
  for (const root of plan as Array<{ Plan: Record<string, unknown> }>) walk(root.Plan);
  return found;
}

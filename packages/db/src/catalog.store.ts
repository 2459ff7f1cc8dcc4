import type { PrismaClient } from './client';
import type { Tx } from './sync-runs.store';

/**
 * Catalog rows as the write statements take them: snake_case keys that match the columns, so a
 * batch goes to Postgres as one JSON array and is unpacked by `jsonb_to_recordset` (one statement
 * per batch, not one per row).
 */
export interface ProductRow {
  octo_id: string;
  internal_name: string | null;
  reference: string | null;
  title: string | null;
  locale: string | null;
  time_zone: string | null;
  availability_type: string | null;
  default_currency: string | null;
  pricing_per: string | null;
  raw: unknown;
  content_hash: string;
}

export interface OptionRow {
  product_octo_id: string;
  octo_id: string;
  is_default: boolean | null;
  internal_name: string | null;
  reference: string | null;
  availability_local_start_times: string[] | null;
  cancellation_cutoff_amount: number | null;
  cancellation_cutoff_unit: string | null;
  min_units: number | null;
  max_units: number | null;
  pricing_from: unknown;
  raw: unknown;
  content_hash: string;
}

export interface UnitRow {
  product_octo_id: string;
  option_octo_id: string;
  octo_id: string;
  internal_name: string | null;
  reference: string | null;
  type: string | null;
  min_age: number | null;
  max_age: number | null;
  min_quantity: number | null;
  max_quantity: number | null;
  pax_count: number | null;
  pricing_from: unknown;
  raw: unknown;
  content_hash: string;
}

export interface OptionKey {
  product_octo_id: string;
  octo_id: string;
}
export interface UnitKey {
  product_octo_id: string;
  option_octo_id: string;
  octo_id: string;
}

/** What a run writes: only rows whose content changed (or that come back), and what went away. */
export interface CatalogChanges {
  products: ProductRow[];
  options: OptionRow[];
  units: UnitRow[];
  removedProducts: string[];
  removedOptions: OptionKey[];
  removedUnits: UnitKey[];
}

/** The stored state a run diffs against: content hash and whether the row is active, by key. */
export interface Fingerprint {
  hash: string;
  active: boolean;
}
export interface CatalogFingerprints {
  /** by product id */
  products: Map<string, Fingerprint>;
  /** by `catalogKey(product id, option id)` */
  options: Map<string, Fingerprint>;
  /** by `catalogKey(product id, option id, unit id)` */
  units: Map<string, Fingerprint>;
}

/** Joins OCTO ids into one map key. NUL cannot appear in a JSON-decoded id we accept. */
export function catalogKey(...ids: string[]): string {
  return ids.join('\u0000');
}

/** Rows per write statement: large enough to amortise the round trip, small enough for memory. */
const BATCH = 2_000;

export class CatalogStore {
  constructor(private readonly prisma: PrismaClient) {}

  async loadFingerprints(integrationId: string): Promise<CatalogFingerprints> {
    // Each list comes back as one JSON text ([[k1, (k2, (k3,)) hash, active], ...]): one value to
    // decode natively instead of hundreds of thousands of driver rows.
    type Entry = [string, string, boolean] | [string, string, string, boolean] | [string, string, string, string, boolean];
    const [products, options, units] = await Promise.all([
      this.prisma.$queryRaw<Array<{ list: string | null }>>`
        SELECT json_agg(json_build_array(octo_id, content_hash, active))::text AS list
        FROM products WHERE integration_id = ${integrationId}::uuid`,
      this.prisma.$queryRaw<Array<{ list: string | null }>>`
        SELECT json_agg(json_build_array(p.octo_id, o.octo_id, o.content_hash, o.active))::text AS list
        FROM product_options o JOIN products p ON p.id = o.product_id
        WHERE p.integration_id = ${integrationId}::uuid`,
      this.prisma.$queryRaw<Array<{ list: string | null }>>`
        SELECT json_agg(json_build_array(p.octo_id, o.octo_id, u.octo_id, u.content_hash, u.active))::text AS list
        FROM units u JOIN product_options o ON o.id = u.option_id JOIN products p ON p.id = o.product_id
        WHERE p.integration_id = ${integrationId}::uuid`,
    ]);
    const toMap = (result: Array<{ list: string | null }>) => {
      const map = new Map<string, Fingerprint>();
      const list = result[0]?.list;
      if (list === null || list === undefined) return map;
      for (const entry of JSON.parse(list) as Entry[]) {
        const n = entry.length;
        map.set(catalogKey(...(entry.slice(0, n - 2) as string[])), { hash: entry[n - 2] as string, active: entry[n - 1] as boolean });
      }
      return map;
    };
    return { products: toMap(products), options: toMap(options), units: toMap(units) };
  }

  /** Applies a run's changes inside the run's fenced transaction. Parents are written before children. */
  async write(tx: Tx, integrationId: string, changes: CatalogChanges): Promise<void> {
    const statements: Array<{ sql: string; batch: unknown[] }> = [];
    const add = (sql: string, items: readonly unknown[]) => {
      for (const batch of chunks(items)) statements.push({ sql, batch });
    };
    add(UPSERT_PRODUCTS, changes.products);
    add(UPSERT_OPTIONS, changes.options);
    add(UPSERT_UNITS, changes.units);
    add(REMOVE_PRODUCTS, changes.removedProducts.map((octo_id) => ({ octo_id })));
    add(REMOVE_OPTIONS, changes.removedOptions);
    add(REMOVE_UNITS, changes.removedUnits);
    // Pipelined: the next batch is serialised while Postgres runs the current one. There is one
    // connection, so the statements still run one after the other, in this order.
    let json = statements.length > 0 ? JSON.stringify(statements[0]!.batch) : '';
    for (let i = 0; i < statements.length; i++) {
      const following = statements[i + 1];
      const [, nextJson] = await Promise.all([
        tx.$executeRawUnsafe(statements[i]!.sql, integrationId, json),
        // setImmediate first: the statement reaches the socket before the event loop is busy.
        new Promise<string>((resolve) => setImmediate(() => resolve(following === undefined ? '' : JSON.stringify(following.batch)))),
      ]);
      json = nextJson;
    }
  }

  /**
   * Marks every active product of an integration inactive (its supplier is DOWN, or the
   * integration was deleted) and forgets the last catalog hashes, so that the next sync re-applies
   * the catalog in full and brings back the products it still lists. Returns how many it touched.
   */
  async deactivateAll(integrationId: string): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM integrations WHERE id = ${integrationId}::uuid FOR UPDATE`;
      await tx.integration.update({ where: { id: integrationId }, data: { lastSyncHash: null, lastPayloadDigest: null } });
      return tx.$executeRaw`
        UPDATE products SET active = false, removed_at = now(), updated_at = now()
        WHERE integration_id = ${integrationId}::uuid AND active`;
    });
  }
}

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += BATCH) yield items.slice(i, i + BATCH);
}

// The statements, readable in one place. $1 is the integration id, $2 a JSON array of rows.
// Every upsert (re)activates its row: a product that reappears in the catalog comes back.

const UPSERT_PRODUCTS = `
INSERT INTO products AS t (integration_id, octo_id, internal_name, reference, title, locale, time_zone,
  availability_type, default_currency, pricing_per, raw, content_hash, active, removed_at, updated_at)
SELECT $1::uuid, r.octo_id, r.internal_name, r.reference, r.title, r.locale, r.time_zone,
  r.availability_type, r.default_currency, r.pricing_per, r.raw, r.content_hash, true, NULL, now()
FROM jsonb_to_recordset($2::jsonb) AS r(octo_id text, internal_name text, reference text, title text,
  locale text, time_zone text, availability_type text, default_currency text, pricing_per text,
  raw jsonb, content_hash text)
ON CONFLICT (integration_id, octo_id) DO UPDATE SET
  internal_name = excluded.internal_name, reference = excluded.reference, title = excluded.title,
  locale = excluded.locale, time_zone = excluded.time_zone, availability_type = excluded.availability_type,
  default_currency = excluded.default_currency, pricing_per = excluded.pricing_per, raw = excluded.raw,
  content_hash = excluded.content_hash, active = true, removed_at = NULL, updated_at = now()`;

const UPSERT_OPTIONS = `
INSERT INTO product_options AS t (product_id, octo_id, is_default, internal_name, reference,
  availability_local_start_times, cancellation_cutoff_amount, cancellation_cutoff_unit, min_units,
  max_units, pricing_from, raw, content_hash, active, removed_at, updated_at)
SELECT p.id, r.octo_id, r.is_default, r.internal_name, r.reference, r.availability_local_start_times,
  r.cancellation_cutoff_amount, r.cancellation_cutoff_unit, r.min_units, r.max_units, r.pricing_from,
  r.raw, r.content_hash, true, NULL, now()
FROM jsonb_to_recordset($2::jsonb) AS r(product_octo_id text, octo_id text, is_default boolean,
  internal_name text, reference text, availability_local_start_times text[],
  cancellation_cutoff_amount integer, cancellation_cutoff_unit text, min_units integer, max_units integer,
  pricing_from jsonb, raw jsonb, content_hash text)
JOIN products p ON p.integration_id = $1::uuid AND p.octo_id = r.product_octo_id
ON CONFLICT (product_id, octo_id) DO UPDATE SET
  is_default = excluded.is_default, internal_name = excluded.internal_name, reference = excluded.reference,
  availability_local_start_times = excluded.availability_local_start_times,
  cancellation_cutoff_amount = excluded.cancellation_cutoff_amount,
  cancellation_cutoff_unit = excluded.cancellation_cutoff_unit, min_units = excluded.min_units,
  max_units = excluded.max_units, pricing_from = excluded.pricing_from, raw = excluded.raw,
  content_hash = excluded.content_hash, active = true, removed_at = NULL, updated_at = now()`;

const UPSERT_UNITS = `
INSERT INTO units AS t (option_id, octo_id, internal_name, reference, type, min_age, max_age,
  min_quantity, max_quantity, pax_count, pricing_from, raw, content_hash, active, removed_at, updated_at)
SELECT o.id, r.octo_id, r.internal_name, r.reference, r.type, r.min_age, r.max_age, r.min_quantity,
  r.max_quantity, r.pax_count, r.pricing_from, r.raw, r.content_hash, true, NULL, now()
FROM jsonb_to_recordset($2::jsonb) AS r(product_octo_id text, option_octo_id text, octo_id text,
  internal_name text, reference text, type text, min_age integer, max_age integer, min_quantity integer,
  max_quantity integer, pax_count integer, pricing_from jsonb, raw jsonb, content_hash text)
JOIN products p ON p.integration_id = $1::uuid AND p.octo_id = r.product_octo_id
JOIN product_options o ON o.product_id = p.id AND o.octo_id = r.option_octo_id
ON CONFLICT (option_id, octo_id) DO UPDATE SET
  internal_name = excluded.internal_name, reference = excluded.reference, type = excluded.type,
  min_age = excluded.min_age, max_age = excluded.max_age, min_quantity = excluded.min_quantity,
  max_quantity = excluded.max_quantity, pax_count = excluded.pax_count, pricing_from = excluded.pricing_from,
  raw = excluded.raw, content_hash = excluded.content_hash, active = true, removed_at = NULL, updated_at = now()`;

const REMOVE_PRODUCTS = `
UPDATE products t SET active = false, removed_at = now(), updated_at = now()
FROM jsonb_to_recordset($2::jsonb) AS r(octo_id text)
WHERE t.integration_id = $1::uuid AND t.octo_id = r.octo_id AND t.active`;

const REMOVE_OPTIONS = `
UPDATE product_options t SET active = false, removed_at = now(), updated_at = now()
FROM jsonb_to_recordset($2::jsonb) AS r(product_octo_id text, octo_id text), products p
WHERE p.integration_id = $1::uuid AND p.octo_id = r.product_octo_id
  AND t.product_id = p.id AND t.octo_id = r.octo_id AND t.active`;

const REMOVE_UNITS = `
UPDATE units t SET active = false, removed_at = now(), updated_at = now()
FROM jsonb_to_recordset($2::jsonb) AS r(product_octo_id text, option_octo_id text, octo_id text),
  products p, product_options o
WHERE p.integration_id = $1::uuid AND p.octo_id = r.product_octo_id
  AND o.product_id = p.id AND o.octo_id = r.option_octo_id
  AND t.option_id = o.id AND t.octo_id = r.octo_id AND t.active`;

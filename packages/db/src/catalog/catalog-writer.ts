import type { PoolClient } from 'pg';
import { catalogKey, type CatalogChanges, type CatalogFingerprints, type OptionRow, type ProductFingerprintRow, type ProductRow, type UnitRow } from './catalog-rows';
import { CatalogChangeLog } from './catalog-change-log';
import { copyField as field, copyText } from '../copy-text';
import { CLEAR_STAGING, COPY_STAGE_OPTIONS, COPY_STAGE_PRODUCTS, COPY_STAGE_UNITS, CREATE_STAGING, JSON_SOURCES, STAGED_SOURCES, upsertOptions, upsertProducts, upsertUnits } from './catalog-upserts';

/** Rows per removal statement: large enough to amortise the round trip, small enough for memory. */
const BATCH = 2_000;
/**
 * Most rows of a slice sent as one `jsonb` parameter: a small run (20 products are ~180 rows) then
 * writes without a staging table; a larger slice is COPY'd into staging tables, created once per run.
 */
const JSON_ROWS_MAX = 2_000;

/**
 * Writes a run's changed rows slice by slice, one upsert per table: a small slice's rows go as one
 * `jsonb` parameter, a large one's are COPY'd into ON COMMIT DROP staging tables first. Parent ids come back from
 * `RETURNING` (or from the fingerprints, for parents left as they were), so no statement joins
 * the catalog tables. A product's fingerprints live in `product_fingerprints`, so that a change in
 * its options or units, which changes them, does not rewrite the product's row.
 * Removals go as JSON arrays of keys, unpacked by `jsonb_to_recordset`, {@link BATCH} per statement.
 */
export class CatalogCopyWriter {
  /** Ids of the rows this run wrote: products by OCTO id, options by `catalogKey`. */
  private readonly productIds = new Map<string, string>();
  private readonly optionIds = new Map<string, string>();
  /** Whether this run's staging tables exist (created by its first large slice). */
  private staging = false;

  private constructor(
    private readonly client: PoolClient,
    private readonly integrationId: string,
    private readonly stored: CatalogFingerprints,
    private readonly changes: CatalogChangeLog | undefined,
  ) {}

  /**
   * A writer for one run, on the connection of `SyncRunStore.withFence` (its staging tables, if
   * any, live until that transaction ends). `stored`: the fingerprints the run diffed against (they carry
   * the ids of the parents it does not rewrite). `changeFeed`: whether the run appends its
   * changes to the change feed (staged with the rows, published by {@link publish}).
   */
  static async open(client: PoolClient, integrationId: string, stored: CatalogFingerprints, changeFeed: boolean): Promise<CatalogCopyWriter> {
    const changes = changeFeed ? await CatalogChangeLog.open(client, integrationId, stored) : undefined;
    return new CatalogCopyWriter(client, integrationId, stored, changes);
  }

  /**
   * Upserts one slice (products first, with their fingerprints, then their options, then units),
   * and the fingerprints alone of products whose own row is unchanged: their row is not rewritten.
   */
  async upsert(rows: { products: readonly ProductRow[]; options: readonly OptionRow[]; units: readonly UnitRow[]; fingerprints?: readonly ProductFingerprintRow[] }): Promise<void> {
    const fingerprints = (rows.fingerprints ?? []).map(({ octo_id, ...rest }) => ({ product_id: this.productId(octo_id), ...rest }));
    for (const batch of chunks(fingerprints)) await this.client.query(UPSERT_FINGERPRINTS, [JSON.stringify(batch)]);
    if (rows.products.length + rows.options.length + rows.units.length <= JSON_ROWS_MAX) await this.upsertJson(rows);
    else await this.upsertStaged(rows);
    await this.changes?.stage(rows);
  }

  /** A small slice: each table's rows as one JSON array. */
  private async upsertJson(rows: { products: readonly ProductRow[]; options: readonly OptionRow[]; units: readonly UnitRow[] }): Promise<void> {
    const { client } = this;
    if (rows.products.length > 0) {
      const written = await client.query<{ id: string; octo_id: string }>(upsertProducts(JSON_SOURCES.products), [this.integrationId, jsonRows(rows.products, productRecord)]);
      for (const row of written.rows) this.productIds.set(row.octo_id, row.id);
    }
    if (rows.options.length > 0) {
      const productOf = new Map<string, string>();
      const records = jsonRows(rows.options, (o) => {
        const productId = this.productId(o.product_octo_id);
        productOf.set(productId, o.product_octo_id);
        return optionRecord(productId, o);
      });
      const written = await client.query<{ id: string; product_id: string; octo_id: string }>(upsertOptions(JSON_SOURCES.options), [records]);
      for (const row of written.rows) this.optionIds.set(catalogKey(productOf.get(row.product_id)!, row.octo_id), row.id);
    }
    if (rows.units.length > 0) await client.query(upsertUnits(JSON_SOURCES.units), [jsonRows(rows.units, (u) => unitRecord(this.optionId(u.product_octo_id, u.option_octo_id), u))]);
  }

  /** A large slice: COPY into the staging tables, then one upsert per table from them. */
  private async upsertStaged(rows: { products: readonly ProductRow[]; options: readonly OptionRow[]; units: readonly UnitRow[] }): Promise<void> {
    const { client } = this;
    if (!this.staging) await client.query(CREATE_STAGING);
    this.staging = true;
    if (rows.products.length > 0) {
      await copyText(client, COPY_STAGE_PRODUCTS, encodeLines(rows.products, productLine));
      const written = await client.query<{ id: string; octo_id: string }>(upsertProducts(STAGED_SOURCES.products), [this.integrationId]);
      for (const row of written.rows) this.productIds.set(row.octo_id, row.id);
    }
    if (rows.options.length > 0) {
      const productOf = new Map<string, string>();
      const lines = encodeLines(rows.options, (o) => {
        const productId = this.productId(o.product_octo_id);
        productOf.set(productId, o.product_octo_id);
        return optionLine(productId, o);
      });
      await copyText(client, COPY_STAGE_OPTIONS, lines);
      const written = await client.query<{ id: string; product_id: string; octo_id: string }>(upsertOptions(STAGED_SOURCES.options));
      for (const row of written.rows) this.optionIds.set(catalogKey(productOf.get(row.product_id)!, row.octo_id), row.id);
    }
    if (rows.units.length > 0) {
      await copyText(client, COPY_STAGE_UNITS, encodeLines(rows.units, (u) => unitLine(this.optionId(u.product_octo_id, u.option_octo_id), u)));
      await client.query(upsertUnits(STAGED_SOURCES.units));
    }
    await client.query(CLEAR_STAGING);
  }

  /** Deactivates what left the catalog. */
  async remove(changes: Pick<CatalogChanges, 'removedProducts' | 'removedOptions' | 'removedUnits'>): Promise<void> {
    const log = this.changes;
    const run = async (sql: string, items: readonly unknown[], entity: 'product' | 'option' | 'unit') => {
      const statement = log ? log.stagingRemovals(sql, entity) : sql;
      for (const batch of chunks(items)) await this.client.query(statement, [this.integrationId, JSON.stringify(batch)]);
    };
    await run(REMOVE_PRODUCTS, changes.removedProducts.map((octo_id) => ({ octo_id })), 'product');
    await run(REMOVE_OPTIONS, changes.removedOptions, 'option');
    await run(REMOVE_UNITS, changes.removedUnits, 'unit');
  }

  /** Appends the run's staged changes to the change feed: the last statement before COMMIT. */
  async publish(): Promise<void> {
    await this.changes?.publish();
  }

  private productId(octoId: string): string {
    const id = this.productIds.get(octoId) ?? this.stored.products.get(octoId)?.id;
    if (id === undefined) throw new Error('catalog writer: an option was written before its product');
    return id;
  }

  private optionId(productId: string, optionId: string): string {
    const key = catalogKey(productId, optionId);
    const id = this.optionIds.get(key) ?? this.stored.options.get(key)?.id;
    if (id === undefined) throw new Error('catalog writer: a unit was written before its option');
    return id;
  }
}

/** A JSON array of records, each with its `raw` spliced in as the JSON text the caller has. */
function jsonRows<R extends { raw: unknown; raw_json?: string }>(rows: readonly R[], record: (row: R) => Record<string, unknown>): string {
  return `[${rows.map((row) => `${JSON.stringify(record(row)).slice(0, -1)},"raw":${row.raw_json ?? JSON.stringify(row.raw) ?? 'null'}}`).join(',')}]`;
}

const productRecord = ({ raw: _raw, raw_json: _json, ...columns }: ProductRow): Record<string, unknown> => columns;
const optionRecord = (productId: string, { raw: _raw, raw_json: _json, product_octo_id: _product, ...columns }: OptionRow): Record<string, unknown> => ({ product_id: productId, ...columns });
const unitRecord = (optionId: string, { raw: _raw, raw_json: _json, product_octo_id: _product, option_octo_id: _option, ...columns }: UnitRow): Record<string, unknown> => ({ option_id: optionId, ...columns });

function* encodeLines<R>(rows: readonly R[], line: (row: R) => string): Generator<string> {
  for (const row of rows) yield `${line(row)}\n`;
}

const num = (value: number | null) => (value === null ? '\\N' : String(value));
const bool = (value: boolean | null) => (value === null ? '\\N' : value ? 't' : 'f');
const json = (value: unknown) => (value === null || value === undefined ? '\\N' : field(JSON.stringify(value)));
const rawJson = (row: { raw: unknown; raw_json?: string }) => field(row.raw_json ?? JSON.stringify(row.raw));
function textArray(values: string[] | null): string {
  if (values === null) return '\\N';
  return field(`{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`);
}

const productLine = (p: ProductRow) =>
  `${field(p.octo_id)}\t${field(p.internal_name)}\t${field(p.reference)}\t${field(p.title)}\t${field(p.locale)}\t${field(p.time_zone)}\t` +
  `${field(p.availability_type)}\t${field(p.default_currency)}\t${field(p.pricing_per)}\t${rawJson(p)}\t${field(p.content_hash)}\t` +
  `${field(p.raw_hash)}\t${field(p.tree_hash)}\t${p.option_count}\t${p.unit_count}`;
const optionLine = (productId: string, o: OptionRow) =>
  `${productId}\t${field(o.octo_id)}\t${bool(o.is_default)}\t${field(o.internal_name)}\t${field(o.reference)}\t` +
  `${textArray(o.availability_local_start_times)}\t${num(o.cancellation_cutoff_amount)}\t${field(o.cancellation_cutoff_unit)}\t` +
  `${num(o.min_units)}\t${num(o.max_units)}\t${json(o.pricing_from)}\t${rawJson(o)}\t${field(o.content_hash)}`;
const unitLine = (optionId: string, u: UnitRow) =>
  `${optionId}\t${field(u.octo_id)}\t${field(u.internal_name)}\t${field(u.reference)}\t${field(u.type)}\t${num(u.min_age)}\t` +
  `${num(u.max_age)}\t${num(u.min_quantity)}\t${num(u.max_quantity)}\t${num(u.pax_count)}\t${json(u.pricing_from)}\t` +
  `${rawJson(u)}\t${field(u.content_hash)}`;

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += BATCH) yield items.slice(i, i + BATCH);
}

// Removals: $1 is the integration id, $2 a JSON array of the keys of the rows that left the catalog.

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

// A product whose own row is unchanged while its bytes changed: its fingerprints only (no event,
// and not its products row). $1: a JSON array of fingerprints by product id (the stored ids).
const UPSERT_FINGERPRINTS = `
INSERT INTO product_fingerprints AS t (product_id, raw_hash, tree_hash, option_count, unit_count)
SELECT r.product_id, r.raw_hash, r.tree_hash, r.option_count, r.unit_count
FROM jsonb_to_recordset($1::jsonb) AS r(product_id bigint, raw_hash text, tree_hash text, option_count integer, unit_count integer)
ON CONFLICT (product_id) DO UPDATE SET
  raw_hash = excluded.raw_hash, tree_hash = excluded.tree_hash, option_count = excluded.option_count, unit_count = excluded.unit_count`;

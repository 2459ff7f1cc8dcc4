import { catalogKey, type CatalogFingerprints, type OptionRow, type ProductFingerprintRow, type ProductRow, type UnitRow } from './catalog-rows';
import { STAGE_KIND, type RowKind } from './catalog-upserts';
import { copyField as field } from '../copy-text';
import type { StageTally } from './catalog-digest';

/** One slice's changed rows, as the differ leaves them. */
export interface SliceRows {
  products: readonly ProductRow[];
  options: readonly OptionRow[];
  units: readonly UnitRow[];
  fingerprints?: readonly ProductFingerprintRow[];
}

/**
 * Encodes a run's rows for the merge (catalog-upserts.ts), as JSON records or as COPY lines of
 * `catalog_stage`, before any transaction opens. Parents the run does not rewrite get their
 * stored id from the fingerprints the run diffed against; new ones go by OCTO id.
 */
export class RowEncoder {
  constructor(private readonly stored: CatalogFingerprints) {}

  /** One kind's rows as a JSON array of records, each `raw` spliced in as the JSON text the caller has. */
  json(kind: RowKind, rows: SliceRows): string {
    if (kind === 'fingerprints') return JSON.stringify((rows.fingerprints ?? []).map(({ octo_id, ...rest }) => ({ product_id: this.productId(octo_id), ...rest })));
    const records = (list: ReadonlyArray<{ raw: unknown; raw_json?: string }>, record: (row: never) => Record<string, unknown>) =>
      `[${list.map((row) => `${JSON.stringify(record(row as never)).slice(0, -1)},"raw":${rawText(row) ?? 'null'}}`).join(',')}]`;
    if (kind === 'products') return records(rows.products, ({ raw: _raw, raw_json: _json, ...columns }: ProductRow) => columns);
    if (kind === 'options') return records(rows.options, ({ raw: _raw, raw_json: _json, ...columns }: OptionRow) => ({ product_id: this.productId(columns.product_octo_id, false), ...columns }));
    return records(rows.units, ({ raw: _raw, raw_json: _json, ...columns }: UnitRow) => ({
      option_id: this.optionId(columns.product_octo_id, columns.option_octo_id),
      product_id: this.productId(columns.product_octo_id, false),
      ...columns,
    }));
  }

  /**
   * The slice's rows as COPY lines of `catalog_stage` (column order: `STAGE_COLUMNS`), each after
   * `prefix` (lane, run, fence), folding each row into `tally` as its line is encoded.
   */
  *lines(prefix: string, rows: SliceRows, tally: StageTally): Generator<string> {
    for (const p of rows.products) {
      tally.add(STAGE_KIND.products, p.octo_id, null, p.octo_id, p.content_hash, p.raw_hash, p.tree_hash);
      yield `${prefix}${STAGE_KIND.products}\t\\N\t${field(p.octo_id)}\t\\N\t\\N\t${field(p.octo_id)}\t${field(p.internal_name)}\t${field(p.reference)}\t` +
        `${field(p.title)}\t${field(p.locale)}\t${field(p.time_zone)}\t${field(p.availability_type)}\t${field(p.default_currency)}\t` +
        `${field(p.pricing_per)}\t${NULLS(13)}\t${raw(p)}\t${field(p.content_hash)}\t${field(p.raw_hash)}\t${field(p.tree_hash)}\t${p.option_count}\t${p.unit_count}\n`;
    }
    for (const f of rows.fingerprints ?? []) {
      tally.add(STAGE_KIND.fingerprints, f.octo_id, null, null, null, f.raw_hash, f.tree_hash);
      yield `${prefix}${STAGE_KIND.fingerprints}\t${this.productId(f.octo_id)}\t${field(f.octo_id)}\t${NULLS(26)}\t` +
        `${field(f.raw_hash)}\t${field(f.tree_hash)}\t${f.option_count}\t${f.unit_count}\n`;
    }
    for (const o of rows.options) {
      tally.add(STAGE_KIND.options, o.product_octo_id, null, o.octo_id, o.content_hash, null, null);
      yield `${prefix}${STAGE_KIND.options}\t${id(this.productId(o.product_octo_id, false))}\t${field(o.product_octo_id)}\t\\N\t\\N\t${field(o.octo_id)}\t` +
        `${field(o.internal_name)}\t${field(o.reference)}\t${NULLS(6)}\t${bool(o.is_default)}\t${textArray(o.availability_local_start_times)}\t` +
        `${num(o.cancellation_cutoff_amount)}\t${field(o.cancellation_cutoff_unit)}\t${num(o.min_units)}\t${num(o.max_units)}\t${NULLS(6)}\t` +
        `${json(o.pricing_from)}\t${raw(o)}\t${field(o.content_hash)}\t${NULLS(4)}\n`;
    }
    for (const u of rows.units) {
      tally.add(STAGE_KIND.units, u.product_octo_id, u.option_octo_id, u.octo_id, u.content_hash, null, null);
      yield `${prefix}${STAGE_KIND.units}\t\\N\t${field(u.product_octo_id)}\t${id(this.optionId(u.product_octo_id, u.option_octo_id))}\t` +
        `${field(u.option_octo_id)}\t${field(u.octo_id)}\t${field(u.internal_name)}\t${field(u.reference)}\t${NULLS(12)}\t${field(u.type)}\t` +
        `${num(u.min_age)}\t${num(u.max_age)}\t${num(u.min_quantity)}\t${num(u.max_quantity)}\t${num(u.pax_count)}\t${json(u.pricing_from)}\t` +
        `${raw(u)}\t${field(u.content_hash)}\t${NULLS(4)}\n`;
    }
  }

  /** A product's stored id; `required`: the product must be stored (its own row is not written by this run). */
  private productId(octoId: string, required = true): string | null {
    const stored = this.stored.products.get(octoId)?.id ?? null;
    if (stored === null && required) throw new Error('catalog writer: fingerprints of a product that is not stored');
    return stored;
  }

  private optionId(productId: string, optionId: string): string | null {
    return this.stored.options.get(catalogKey(productId, optionId))?.id ?? null;
  }
}

/** `raw` as JSON text: the canonical text the caller hashed, when it has it. */
function rawText(row: { raw: unknown; raw_json?: string }): string | undefined {
  return row.raw_json ?? JSON.stringify(row.raw);
}

const NULLS = (count: number) => `${'\\N\t'.repeat(count - 1)}\\N`;
const id = (value: string | null) => value ?? '\\N';
const num = (value: number | null) => (value === null ? '\\N' : String(value));
const bool = (value: boolean | null) => (value === null ? '\\N' : value ? 't' : 'f');
const json = (value: unknown) => (value === null || value === undefined ? '\\N' : field(JSON.stringify(value)));
const raw = (row: { raw: unknown; raw_json?: string }) => {
  const text = rawText(row);
  return text === undefined ? '\\N' : field(text);
};
function textArray(values: string[] | null): string {
  if (values === null) return '\\N';
  return field(`{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`);
}

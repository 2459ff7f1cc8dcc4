import type { OptionRow, ProductRow, UnitRow } from '@octo-sync/db';
import { createHash } from 'node:crypto';
import {
  canonicalJson,
  canonicalSplit,
  sha256Hex,
  type OctoOption,
  type OctoProduct,
  type OctoUnit,
  type ProductQuarantine,
} from '@octo-sync/octo';

/**
 * The one place that knows both sides: OCTO products, options and units become the rows of
 * `products`, `product_options` and `units`. Known fields are typed leniently (a value of the wrong
 * type becomes NULL in its column, never an error); everything the supplier sent stays in `raw`.
 * Each row's content hash covers exactly its `raw`, so a change anywhere in it rewrites the row.
 */
export interface CatalogRows {
  products: ProductRow[];
  options: OptionRow[];
  units: UnitRow[];
}

const INT4_MAX = 2_147_483_647;

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function int(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= INT4_MAX ? value : null;
}

function bool(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function texts(value: unknown): string[] | null {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : null;
}

/** JSON columns get the value as sent, or NULL when it is absent. */
function json(value: unknown): unknown {
  return value === undefined ? null : value;
}

/** `record` without `key` (a parent without its children, which have rows of their own). */
function withoutKey(record: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _child, ...rest } = record;
  return rest;
}

/**
 * How a row stores what the supplier sent: its content hash (of `text`, the canonical JSON), and
 * either the text itself as `raw_json` (the parsed object dropped) or the object as `raw`.
 */
type RawColumns = Pick<ProductRow, 'raw' | 'raw_json' | 'content_hash'>;

function mapProduct(product: OctoProduct, fingerprints: Pick<ProductRow, 'raw_hash' | 'tree_hash' | 'option_count' | 'unit_count'>, stored: RawColumns): ProductRow {
  return {
    octo_id: product.id,
    internal_name: text(product.internalName),
    reference: text(product.reference),
    title: text(product.title),
    locale: text(product.locale),
    time_zone: text(product.timeZone),
    availability_type: text(product.availabilityType),
    default_currency: text(product.defaultCurrency),
    pricing_per: text(product.pricingPer),
    ...stored,
    ...fingerprints,
  };
}

function mapOption(productId: string, option: OctoOption, stored: RawColumns): OptionRow {
  const restrictions = record(option.restrictions);
  return {
    product_octo_id: productId,
    octo_id: option.id,
    is_default: bool(option.default),
    internal_name: text(option.internalName),
    reference: text(option.reference),
    availability_local_start_times: texts(option.availabilityLocalStartTimes),
    cancellation_cutoff_amount: int(option.cancellationCutoffAmount),
    cancellation_cutoff_unit: text(option.cancellationCutoffUnit),
    min_units: int(restrictions.minUnits),
    max_units: int(restrictions.maxUnits),
    pricing_from: json(option.pricingFrom),
    ...stored,
  };
}

function mapUnit(productId: string, optionId: string, unit: OctoUnit, stored: RawColumns): UnitRow {
  const restrictions = record(unit.restrictions);
  return {
    product_octo_id: productId,
    option_octo_id: optionId,
    octo_id: unit.id,
    internal_name: text(unit.internalName),
    reference: text(unit.reference),
    type: text(unit.type),
    min_age: int(restrictions.minAge),
    max_age: int(restrictions.maxAge),
    min_quantity: int(restrictions.minQuantity),
    max_quantity: int(restrictions.maxQuantity),
    pax_count: int(restrictions.paxCount),
    pricing_from: json(unit.pricingFrom),
    ...stored,
  };
}

/**
 * Maps products to rows and hashes them, one product at a time: each unit, option and product is
 * serialised to canonical JSON once, hashed as its row's content hash, and the same text is
 * spliced into its parent's, whose hash is the product's tree hash. `keepText` keeps each row's
 * canonical text as `raw_json` in place of its `raw` object: the writer sends the text as is, and
 * the parsed product can be collected while its slice waits to be written.
 *
 * The catalog hash is a Merkle root: SHA-256 over the products' tree hashes (lowercase hex, one
 * per line, in catalog order), so that a product not parsed because its bytes are the stored ones
 * contributes its stored tree hash. Whitespace and key order change no tree hash.
 */
export class CatalogMapper {
  private readonly catalog = createHash('sha256');
  constructor(private readonly keepText = false) {}

  /** Appends the rows of `product` to `rows`; `rawHash`: SHA-256 of its bytes as sent, when known. */
  map(product: OctoProduct, rows: CatalogRows, rawHash: string | null = null): void {
    const optionTexts: string[] = [];
    const unitsBefore = rows.units.length;
    for (const option of product.options) {
      const units = option.units;
      const split = canonicalSplit(option, 'units');
      rows.options.push(mapOption(product.id, option, this.stored(split.own, () => withoutKey(option, 'units'))));
      let unitsText = 'null';
      if (Array.isArray(units)) {
        const unitTexts: string[] = [];
        for (const unit of units) {
          const text = canonicalJson(unit);
          rows.units.push(mapUnit(product.id, option.id, unit, this.stored(text, () => unit)));
          unitTexts.push(text);
        }
        unitsText = `[${unitTexts.join(',')}]`;
      }
      optionTexts.push(split.withChild(unitsText));
    }
    const split = canonicalSplit(product, 'options');
    const treeHash = sha256Hex(split.withChild(`[${optionTexts.join(',')}]`));
    const fingerprints = { raw_hash: rawHash, tree_hash: treeHash, option_count: product.options.length, unit_count: rows.units.length - unitsBefore };
    rows.products.push(mapProduct(product, fingerprints, this.stored(split.own, () => withoutKey(product, 'options'))));
    this.leaf(treeHash);
  }

  /** A row's content hash and raw columns from its canonical `text`; `raw` builds the object only when it is stored. */
  private stored(text: string, raw: () => unknown): RawColumns {
    return this.keepText ? { raw: null, raw_json: text, content_hash: sha256Hex(text) } : { raw: raw(), content_hash: sha256Hex(text) };
  }

  /** A product taken as stored (its bytes are the stored ones): its stored tree hash. */
  unchanged(treeHash: string): void {
    this.leaf(treeHash);
  }

  /**
   * A quarantined product has no rows; its leaf is the hash of
   * `{"quarantined":{"id":…,"path":…}}` (never a product: those have options), so that the
   * catalog hash still changes when it is fixed or leaves the catalog.
   */
  quarantine(quarantine: ProductQuarantine): void {
    this.leaf(sha256Hex(canonicalJson({ quarantined: { id: quarantine.productId ?? null, path: quarantine.path } })));
  }

  /** The catalog hash of every product mapped so far. */
  digest(): string {
    return this.catalog.digest('hex');
  }

  private leaf(hash: string): void {
    this.catalog.update(`${hash}\n`);
  }
}

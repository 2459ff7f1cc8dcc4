/*
 * Catalog rows as the sync writes them, with snake_case keys that match the columns, and the
 * stored state a run diffs against.
 */

/** A `products` row (OCTO ids, not database ids: the writer resolves those). */
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
  /** `raw` as JSON text when the caller has it already (the canonical text it hashed); it then stands for `raw`, which may be null. */
  raw_json?: string;
  content_hash: string;
  /** SHA-256 of the product's bytes as sent (null when they are not known, e.g. a mapped object). */
  raw_hash: string | null;
  /** SHA-256 of the canonical JSON of the whole product, options and units included. */
  tree_hash: string;
  /** How many options and units the product has as sent. */
  option_count: number;
  unit_count: number;
}

/**
 * A product whose bytes changed while its own row did not (a change in its options or units, or
 * only in whitespace or key order): only its fingerprints are written.
 */
export type ProductFingerprintRow = Pick<ProductRow, 'octo_id' | 'raw_hash' | 'tree_hash' | 'option_count' | 'unit_count'>;

/** A `product_options` row, keyed by its product's OCTO id. */
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
  /** `raw` as JSON text when the caller has it already (the canonical text it hashed); it then stands for `raw`, which may be null. */
  raw_json?: string;
  content_hash: string;
}

/** A `units` row, keyed by its product's and option's OCTO ids. */
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
  /** `raw` as JSON text when the caller has it already (the canonical text it hashed); it then stands for `raw`, which may be null. */
  raw_json?: string;
  content_hash: string;
}

/** An option that left the catalog. */
export interface OptionKey {
  product_octo_id: string;
  octo_id: string;
}

/** A unit that left the catalog. */
export interface UnitKey {
  product_octo_id: string;
  option_octo_id: string;
  octo_id: string;
}

/** What a run writes: only rows whose content changed (or that come back), and what went away. */
export interface CatalogChanges {
  products: ProductRow[];
  fingerprints: ProductFingerprintRow[];
  options: OptionRow[];
  units: UnitRow[];
  removedProducts: string[];
  removedOptions: OptionKey[];
  removedUnits: UnitKey[];
}

/** What a run removed from the catalog. */
export type CatalogRemovals = Pick<CatalogChanges, 'removedProducts' | 'removedOptions' | 'removedUnits'>;

/** The stored state a run diffs against: content hash and whether the row is active, by key. */
export interface Fingerprint {
  hash: string;
  active: boolean;
  /** The row's id (products and options: what their children's rows point at). */
  id?: string;
}

/** A stored product's fingerprints (see {@link ProductRow}): null for a product stored before they existed. */
export interface ProductFingerprint extends Fingerprint {
  id: string;
  raw: string | null;
  tree: string | null;
  options: number | null;
  units: number | null;
}

/** What is stored of one integration's catalog, by key. */
export interface CatalogFingerprints {
  /** by product id */
  products: Map<string, ProductFingerprint>;
  /** Active products with fingerprints: product id by raw hash. */
  activeByRaw: Map<string, string>;
  /** by `catalogKey(product id, option id)` */
  options: Map<string, Fingerprint>;
  /** by `catalogKey(product id, option id, unit id)` */
  units: Map<string, Fingerprint>;
}

/** Joins OCTO ids into one map key. NUL cannot appear in a JSON-decoded id we accept. */
export function catalogKey(...ids: string[]): string {
  return ids.join('\u0000');
}

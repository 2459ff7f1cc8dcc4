import { catalogKey, type CatalogChanges, type CatalogFingerprints, type CatalogRemovals, type EntityCounts, type Fingerprint, type ProductFingerprintRow, type RunCounts } from '@octo-sync/db';
import type { CatalogRows } from './map-catalog';

function emptyCounts(): EntityCounts {
  return { created: 0, updated: 0, unchanged: 0, removed: 0 };
}

/** Sorts `rows` into created / updated / unchanged against what is stored, keeping only the rows to write. */
function classify<R extends { content_hash: string }, F extends Fingerprint>(
  rows: readonly R[],
  keyOf: (row: R) => string,
  stored: Map<string, F>,
  counts: EntityCounts,
  onWrite: (row: R) => void,
  onUnchanged?: (row: R, before: F) => void,
): R[] {
  const write: R[] = [];
  for (const row of rows) {
    const before = stored.get(keyOf(row));
    if (before === undefined) counts.created += 1;
    else if (before.hash !== row.content_hash || !before.active) counts.updated += 1;
    else {
      counts.unchanged += 1;
      onUnchanged?.(row, before);
      continue;
    }
    write.push(row);
    onWrite(row);
  }
  return write;
}

/**
 * Compares a fetched catalog with the stored fingerprints, one slice of rows at a time (a slice
 * holds whole products). A row is written only when it is new, its content hash changed, or it
 * was inactive; an active stored row that the catalog no longer has is removed. Options and units
 * are removed only under products that are still present: a product that left the catalog is
 * deactivated as a whole and keeps its children as they were. Removed products (and so the
 * mass-removal guard) are known from the present product ids alone: the slices collect them, and
 * {@link closeProducts} after the last one counts the removals.
 * A quarantined product (see {@link quarantine}) is neither present nor removed: it stays as stored.
 * A product whose bytes are the stored ones (see {@link unchanged}) is present with its stored
 * children, which are not loaded: only the children of parsed products are compared or removed.
 */
export class CatalogDiffer {
  readonly counts: RunCounts = { products: { ...emptyCounts(), quarantined: 0 }, options: emptyCounts(), units: emptyCounts() };
  /** Active products stored before the run. */
  readonly activeProductsBefore: number;
  /** Products that would have been removed but were kept, because a quarantined product had no id. */
  heldRemovals = 0;
  private removedProducts: string[] | undefined;
  private readonly quarantined = new Set<string>();
  private holdRemovals = false;
  private readonly presentProducts = new Set<string>();
  private readonly touched = new Set<string>();
  private readonly presentOptions = new Set<string>();
  private readonly presentUnits = new Set<string>();

  /**
   * `scope`: a targeted run's product ids. Only those can be removed (the run fetched nothing
   * else); the mass-removal guard still weighs them against every active product.
   */
  constructor(
    private readonly stored: CatalogFingerprints,
    private readonly scope?: ReadonlySet<string>,
  ) {
    let active = 0;
    for (const fp of stored.products.values()) if (fp.active) active += 1;
    this.activeProductsBefore = active;
  }

  /**
   * A product that cannot be stored as sent keeps its stored version. Without an id it could be any
   * stored product missing from the catalog, so then no product is removed by this run.
   */
  quarantine(productId: string | undefined): void {
    this.counts.products.quarantined += 1;
    if (productId === undefined) this.holdRemovals = true;
    else this.quarantined.add(productId);
  }

  /** A product taken as stored without parsing it: it and its active children count as unchanged. Returns its stored tree hash. */
  unchanged(productId: string): string {
    const fp = this.stored.products.get(productId);
    if (fp?.tree == null || fp.options === null || fp.units === null) throw new Error(`catalog differ: product ${productId} has no stored fingerprints`);
    if (this.removedProducts === undefined) this.presentProducts.add(productId);
    this.counts.products.unchanged += 1;
    this.counts.options.unchanged += fp.options;
    this.counts.units.unchanged += fp.units;
    return fp.tree;
  }

  /** Every present product has been seen: counts the removed products (what the mass-removal guard reads). */
  closeProducts(): void {
    if (this.removedProducts !== undefined) return;
    const removed: string[] = [];
    for (const [id, fp] of this.stored.products) {
      if (fp.active && !this.presentProducts.has(id) && !this.quarantined.has(id) && (this.scope?.has(id) ?? true)) removed.push(id);
    }
    if (this.holdRemovals) {
      this.heldRemovals = removed.length;
      removed.length = 0;
    }
    this.removedProducts = removed;
    this.counts.products.removed = removed.length;
  }

  /**
   * The rows of one slice that must be written, and the fingerprints of its products whose own
   * row is unchanged but whose bytes are new; counts every row of it.
   */
  classify(rows: CatalogRows): CatalogRows & { fingerprints: ProductFingerprintRow[] } {
    const { stored, counts, touched } = this;
    if (this.removedProducts === undefined) for (const p of rows.products) this.presentProducts.add(p.octo_id);
    const fingerprints: ProductFingerprintRow[] = [];
    const products = classify(
      rows.products,
      (p) => p.octo_id,
      stored.products,
      counts.products,
      (p) => touched.add(p.octo_id),
      (p, before) => {
        if (before.raw !== p.raw_hash || before.tree !== p.tree_hash) {
          fingerprints.push({ octo_id: p.octo_id, raw_hash: p.raw_hash, tree_hash: p.tree_hash, option_count: p.option_count, unit_count: p.unit_count });
        }
      },
    );
    const options = classify(
      rows.options,
      (o) => {
        const key = catalogKey(o.product_octo_id, o.octo_id);
        this.presentOptions.add(key);
        return key;
      },
      stored.options,
      counts.options,
      (o) => touched.add(o.product_octo_id),
    );
    const units = classify(
      rows.units,
      (u) => {
        const key = catalogKey(u.product_octo_id, u.option_octo_id, u.octo_id);
        this.presentUnits.add(key);
        return key;
      },
      stored.units,
      counts.units,
      (u) => touched.add(u.product_octo_id),
    );
    return { products, options, units, fingerprints };
  }

  /** What left the catalog; call after the last slice. */
  removals(): CatalogRemovals {
    this.closeProducts();
    const { stored, presentProducts, presentOptions, presentUnits, touched } = this;
    const removedOptions: CatalogChanges['removedOptions'] = [];
    for (const [key, fp] of stored.options) {
      const [productId = '', optionId = ''] = key.split('\u0000');
      if (fp.active && presentProducts.has(productId) && !presentOptions.has(key)) {
        removedOptions.push({ product_octo_id: productId, octo_id: optionId });
        touched.add(productId);
      }
    }
    const removedUnits: CatalogChanges['removedUnits'] = [];
    for (const [key, fp] of stored.units) {
      const [productId = '', optionId = '', unitId = ''] = key.split('\u0000');
      if (fp.active && presentOptions.has(catalogKey(productId, optionId)) && !presentUnits.has(key)) {
        removedUnits.push({ product_octo_id: productId, option_octo_id: optionId, octo_id: unitId });
        touched.add(productId);
      }
    }
    this.counts.options.removed = removedOptions.length;
    this.counts.units.removed = removedUnits.length;
    return { removedProducts: this.removedProducts ?? [], removedOptions, removedUnits };
  }

  /** Catalog products with at least one row written (final after {@link removals}). */
  get touchedProducts(): number {
    return this.touched.size;
  }
}

export interface MassRemovalRule {
  /** Fraction of the active products above which a removal is "mass" (0.5: more than half). */
  ratio: number;
  /** Removals up to this many are never blocked (a handful). */
  minimum: number;
}

/** True when a run would deactivate more than `ratio` of the active products and more than `minimum`. */
export function isMassRemoval(diff: Pick<CatalogDiffer, 'counts' | 'activeProductsBefore'>, rule: MassRemovalRule): boolean {
  const removed = diff.counts.products.removed;
  return removed > rule.minimum && removed > diff.activeProductsBefore * rule.ratio;
}

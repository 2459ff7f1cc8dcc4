import { catalogKey, type CatalogChanges, type CatalogFingerprints, type EntityCounts, type Fingerprint, type RunCounts } from '@octo-sync/db';
import type { CatalogRows } from './map-catalog';

export interface CatalogDiff {
  changes: CatalogChanges;
  counts: RunCounts;
  /** Catalog products with at least one row written (the webhook's `synced`). */
  touchedProducts: number;
  /** Active products stored before the run. */
  activeProductsBefore: number;
}

function emptyCounts(): EntityCounts {
  return { created: 0, updated: 0, unchanged: 0, removed: 0 };
}

/** Sorts `rows` into created / updated / unchanged against what is stored, keeping only the rows to write. */
function classify<R extends { content_hash: string }>(
  rows: readonly R[],
  keyOf: (row: R) => string,
  stored: Map<string, Fingerprint>,
  counts: EntityCounts,
  onWrite: (row: R) => void,
): R[] {
  const write: R[] = [];
  for (const row of rows) {
    const before = stored.get(keyOf(row));
    if (before === undefined) counts.created += 1;
    else if (before.hash !== row.content_hash || !before.active) counts.updated += 1;
    else {
      counts.unchanged += 1;
      continue;
    }
    write.push(row);
    onWrite(row);
  }
  return write;
}

/**
 * Compares a fetched catalog with the stored fingerprints. A row is written only when it is new,
 * its content hash changed, or it was inactive; an active stored row that the catalog no longer
 * has is removed. Options and units are removed only under products that are still present: a
 * product that left the catalog is deactivated as a whole and keeps its children as they were.
 */
export function diffCatalog(rows: CatalogRows, stored: CatalogFingerprints): CatalogDiff {
  const counts: RunCounts = { products: emptyCounts(), options: emptyCounts(), units: emptyCounts() };
  const touched = new Set<string>();

  const products = classify(rows.products, (p) => p.octo_id, stored.products, counts.products, (p) => touched.add(p.octo_id));
  const options = classify(rows.options, (o) => catalogKey(o.product_octo_id, o.octo_id), stored.options, counts.options, (o) =>
    touched.add(o.product_octo_id),
  );
  const units = classify(rows.units, (u) => catalogKey(u.product_octo_id, u.option_octo_id, u.octo_id), stored.units, counts.units, (u) =>
    touched.add(u.product_octo_id),
  );

  const presentProducts = new Set(rows.products.map((p) => p.octo_id));
  const presentOptions = new Set(rows.options.map((o) => catalogKey(o.product_octo_id, o.octo_id)));
  const presentUnits = new Set(rows.units.map((u) => catalogKey(u.product_octo_id, u.option_octo_id, u.octo_id)));

  const removedProducts: string[] = [];
  let activeProductsBefore = 0;
  for (const [id, fp] of stored.products) {
    if (!fp.active) continue;
    activeProductsBefore += 1;
    if (!presentProducts.has(id)) removedProducts.push(id);
  }
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
  counts.products.removed = removedProducts.length;
  counts.options.removed = removedOptions.length;
  counts.units.removed = removedUnits.length;

  return {
    changes: { products, options, units, removedProducts, removedOptions, removedUnits },
    counts,
    touchedProducts: touched.size,
    activeProductsBefore,
  };
}

export interface MassRemovalRule {
  /** Fraction of the active products above which a removal is "mass" (0.5: more than half). */
  ratio: number;
  /** Removals up to this many are never blocked (a handful). */
  minimum: number;
}

/** True when a run would deactivate more than `ratio` of the active products and more than `minimum`. */
export function isMassRemoval(diff: Pick<CatalogDiff, 'counts' | 'activeProductsBefore'>, rule: MassRemovalRule): boolean {
  const removed = diff.counts.products.removed;
  return removed > rule.minimum && removed > diff.activeProductsBefore * rule.ratio;
}

import type { Pool } from 'pg';
import type { PrismaClient } from '../client';
import { catalogKey, type CatalogFingerprints } from './catalog-rows';
import { CatalogRunWriter, type WriterRun } from './catalog-writer';
import { appendChanges, prismaSql, type ChangeEventRow } from '../feed/change-outbox';
import type { Prisma } from '../generated/prisma/client';

/**
 * One integration's stored catalog: what a run diffs against ({@link loadFingerprints}), the
 * writer of a run's changes ({@link openWriter}), and deactivating it as a whole.
 */
export class CatalogStore {
  /**
   * `pool`: the `pg` pool Prisma runs on (fingerprints are read and rows staged on it directly). `changeFeed`:
   * whether runs append their changes to the change feed.
   */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly changeFeed: boolean,
  ) {}

  /**
   * The stored products' fingerprints. The fingerprints of their options and units are loaded
   * only for the products a run parses ({@link loadChildren}).
   */
  async loadFingerprints(integrationId: string): Promise<CatalogFingerprints> {
    const result: CatalogFingerprints = { products: new Map(), activeByRaw: new Map(), options: new Map(), units: new Map() };
    const products = await list(this.pool, PRODUCT_FINGERPRINTS, [integrationId]);
    for (const [id, hash, active, rowId, raw, tree, options, units] of decode<ProductEntry>(products)) {
      result.products.set(id, { hash, active, id: rowId, raw, tree, options, units });
      if (active && raw !== null && tree !== null && options !== null && units !== null) result.activeByRaw.set(raw, id);
    }
    return result;
  }

  /**
   * Adds the fingerprints of the options and units of `productIds` (OCTO ids) to `into`. A run
   * reads them slice by slice as it parses, before its fenced transaction opens.
   */
  async loadChildren(integrationId: string, productIds: readonly string[], into: CatalogFingerprints): Promise<void> {
    if (productIds.length === 0) return;
    const values = [integrationId, productIds];
    const [options, units] = await Promise.all([list(this.pool, OPTION_FINGERPRINTS, values), list(this.pool, UNIT_FINGERPRINTS, values)]);
    for (const [productId, id, hash, active, rowId] of decode<[string, string, string, boolean, string]>(options)) {
      into.options.set(catalogKey(productId, id), { hash, active, id: rowId });
    }
    for (const [productId, optionId, id, hash, active] of decode<[string, string, string, string, boolean]>(units)) {
      into.units.set(catalogKey(productId, optionId, id), { hash, active });
    }
  }

  /** The writer of one run's changes, diffed against `stored` (see {@link CatalogRunWriter}). */
  openWriter(run: WriterRun, stored: CatalogFingerprints): CatalogRunWriter {
    return new CatalogRunWriter({ prisma: this.prisma, pool: this.pool }, run, stored, this.changeFeed);
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
      return deactivateProducts(tx, integrationId, new Date());
    });
  }
}

/**
 * A list comes back as one JSON text ([[k1, (k2, (k3,)) hash, active(, …)], ...]): one value to
 * decode natively instead of thousands of driver rows.
 */
async function list(on: Pool, sql: string, values: unknown[]): Promise<string | null> {
  const { rows } = await on.query<{ list: string | null }>(sql, values);
  return rows[0]?.list ?? null;
}

function decode<T>(list: string | null): T[] {
  return list === null ? [] : (JSON.parse(list) as T[]);
}

type ProductEntry = [string, string, boolean, string, string | null, string | null, number | null, number | null];

const PRODUCT_FINGERPRINTS = `
SELECT json_agg(json_build_array(p.octo_id, p.content_hash, p.active, p.id::text, f.raw_hash, f.tree_hash, f.option_count, f.unit_count))::text AS list
FROM products p LEFT JOIN product_fingerprints f ON f.product_id = p.id WHERE p.integration_id = $1::uuid`;

const OPTION_FINGERPRINTS = `
SELECT json_agg(json_build_array(p.octo_id, o.octo_id, o.content_hash, o.active, o.id::text))::text AS list
FROM product_options o JOIN products p ON p.id = o.product_id
WHERE p.integration_id = $1::uuid AND p.octo_id = ANY($2::text[])`;

const UNIT_FINGERPRINTS = `
SELECT json_agg(json_build_array(p.octo_id, o.octo_id, u.octo_id, u.content_hash, u.active))::text AS list
FROM units u JOIN product_options o ON o.id = u.option_id JOIN products p ON p.id = o.product_id
WHERE p.integration_id = $1::uuid AND p.octo_id = ANY($2::text[])`;

/**
 * Marks every active product of an integration inactive, at `at`, with its `product.removed`
 * events: the one statement behind both "the supplier is DOWN" (above) and "the integration was
 * deleted" (IntegrationStore.softDelete).
 */
export async function deactivateProducts(tx: Prisma.TransactionClient, integrationId: string, at: Date): Promise<number> {
  const gone = await tx.$queryRaw<Array<{ octo_id: string; content_hash: string }>>`
    UPDATE products SET active = false, removed_at = ${at}, updated_at = ${at}
    WHERE integration_id = ${integrationId}::uuid AND active
    RETURNING octo_id, content_hash`;
  const events = gone.map(
    (p): ChangeEventRow => ({
      integration_id: integrationId,
      type: 'product.removed',
      product_octo_id: p.octo_id,
      option_octo_id: null,
      unit_octo_id: null,
      availability_id: null,
      content_hash: p.content_hash,
    }),
  );
  await appendChanges(prismaSql(tx), events);
  return gone.length;
}

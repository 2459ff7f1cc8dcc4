import type { Pool, PoolClient } from 'pg';
import type { PrismaClient } from './client';
import { catalogKey, type CatalogFingerprints } from './catalog-rows';
import { CatalogCopyWriter } from './catalog-writer';
import { appendChanges, prismaSql, type ChangeEventRow } from './change-outbox';
import type { Prisma } from './generated/prisma/client';

/**
 * One integration's stored catalog: what a run diffs against ({@link loadFingerprints}), the
 * writer of a run's changes ({@link openWriter}), and deactivating it as a whole.
 */
export class CatalogStore {
  /**
   * `pool`: the `pg` pool Prisma runs on (fingerprints are read on it directly). `changeFeed`:
   * whether runs append their changes to the change feed.
   */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly changeFeed: boolean,
  ) {}

  async loadFingerprints(integrationId: string): Promise<CatalogFingerprints> {
    // Each list comes back as one JSON text ([[k1, (k2, (k3,)) hash, active(, id)], ...]): one
    // value to decode natively instead of hundreds of thousands of driver rows.
    const query = async (sql: string): Promise<string | null> => (await this.pool.query<{ list: string | null }>(sql, [integrationId])).rows[0]?.list ?? null;
    const [products, options, units] = await Promise.all([
      query(`SELECT json_agg(json_build_array(octo_id, content_hash, active, id::text))::text AS list
        FROM products WHERE integration_id = $1::uuid`),
      query(`SELECT json_agg(json_build_array(p.octo_id, o.octo_id, o.content_hash, o.active, o.id::text))::text AS list
        FROM product_options o JOIN products p ON p.id = o.product_id
        WHERE p.integration_id = $1::uuid`),
      query(`SELECT json_agg(json_build_array(p.octo_id, o.octo_id, u.octo_id, u.content_hash, u.active))::text AS list
        FROM units u JOIN product_options o ON o.id = u.option_id JOIN products p ON p.id = o.product_id
        WHERE p.integration_id = $1::uuid`),
    ]);
    const result: CatalogFingerprints = { products: new Map(), options: new Map(), units: new Map() };
    if (products !== null) {
      for (const [id, hash, active, rowId] of JSON.parse(products) as Array<[string, string, boolean, string]>) {
        result.products.set(id, { hash, active, id: rowId });
      }
    }
    if (options !== null) {
      for (const [productId, id, hash, active, rowId] of JSON.parse(options) as Array<[string, string, string, boolean, string]>) {
        result.options.set(catalogKey(productId, id), { hash, active, id: rowId });
      }
    }
    if (units !== null) {
      for (const [productId, optionId, id, hash, active] of JSON.parse(units) as Array<[string, string, string, string, boolean]>) {
        result.units.set(catalogKey(productId, optionId, id), { hash, active });
      }
    }
    return result;
  }

  /** The COPY-based writer of one run's changes (see {@link CatalogCopyWriter.open}). */
  openWriter(client: PoolClient, integrationId: string, stored: CatalogFingerprints): Promise<CatalogCopyWriter> {
    return CatalogCopyWriter.open(client, integrationId, stored, this.changeFeed);
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

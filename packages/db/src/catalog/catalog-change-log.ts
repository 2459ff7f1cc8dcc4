import type { PoolClient } from 'pg';
import { catalogKey, type CatalogFingerprints, type Fingerprint, type OptionRow, type ProductRow, type UnitRow } from './catalog-rows';
import { copyField as field, copyText } from '../copy-text';
import { COPY_CHANGE_STAGE, CREATE_CHANGE_STAGE, publishStaged, type ChangeType } from '../feed/change-outbox';

type Entity = 'product' | 'option' | 'unit';

/** What the removal statements of each entity return for their events (`t`: the row, `r`: its key). */
const REMOVED_KEYS: Record<Entity, string> = {
  product: 't.octo_id AS product_octo_id, NULL::text AS option_octo_id, NULL::text AS unit_octo_id, t.content_hash',
  option: 'r.product_octo_id, t.octo_id AS option_octo_id, NULL::text AS unit_octo_id, t.content_hash',
  unit: 'r.product_octo_id, r.option_octo_id, t.octo_id AS unit_octo_id, t.content_hash',
};

/**
 * The change-feed side of a catalog run: each slice's events are COPY'd into a staging table
 * (no round trip per row), removals stage theirs in the same statement, and {@link publish}
 * appends them all to the outbox just before COMMIT. Whether a written row is created, updated
 * or restored is read from the fingerprints the run diffed against.
 */
export class CatalogChangeLog {
  private constructor(
    private readonly client: PoolClient,
    private readonly integrationId: string,
    private readonly stored: CatalogFingerprints,
  ) {}

  static async open(client: PoolClient, integrationId: string, stored: CatalogFingerprints): Promise<CatalogChangeLog> {
    await client.query(CREATE_CHANGE_STAGE);
    return new CatalogChangeLog(client, integrationId, stored);
  }

  /** Stages the events of one written slice. */
  async stage(rows: { products: readonly ProductRow[]; options: readonly OptionRow[]; units: readonly UnitRow[] }): Promise<void> {
    if (rows.products.length + rows.options.length + rows.units.length > 0) await copyText(this.client, COPY_CHANGE_STAGE, this.lines(rows));
  }

  private *lines(rows: { products: readonly ProductRow[]; options: readonly OptionRow[]; units: readonly UnitRow[] }): Generator<string> {
    const { stored } = this;
    for (const p of rows.products) yield this.line(kind('product', stored.products.get(p.octo_id)), p.octo_id, null, null, p.content_hash);
    for (const o of rows.options) {
      const before = stored.options.get(catalogKey(o.product_octo_id, o.octo_id));
      yield this.line(kind('option', before), o.product_octo_id, o.octo_id, null, o.content_hash);
    }
    for (const u of rows.units) {
      const before = stored.units.get(catalogKey(u.product_octo_id, u.option_octo_id, u.octo_id));
      yield this.line(kind('unit', before), u.product_octo_id, u.option_octo_id, u.octo_id, u.content_hash);
    }
  }

  /** `update` (a removal statement without RETURNING) rewritten to also stage its `<entity>.removed` events. */
  stagingRemovals(update: string, entity: Entity): string {
    return `WITH gone AS (${update}
  RETURNING ${REMOVED_KEYS[entity]})
INSERT INTO change_stage (integration_id, type, product_octo_id, option_octo_id, unit_octo_id, content_hash)
SELECT $1::uuid, '${entity}.removed', product_octo_id, option_octo_id, unit_octo_id, content_hash FROM gone`;
  }

  publish(): Promise<void> {
    return publishStaged(async (sql, values) => this.client.query(sql, values));
  }

  /** One COPY line in the column order of `COPY_CHANGE_STAGE`. */
  private line(type: ChangeType, product: string, option: string | null, unit: string | null, hash: string): string {
    return `${this.integrationId}\t${type}\t${field(product)}\t${field(option)}\t${field(unit)}\t\\N\t${field(hash)}\n`;
  }
}

function kind(entity: Entity, before: Fingerprint | undefined): ChangeType {
  if (before === undefined) return `${entity}.created`;
  return before.active ? `${entity}.updated` : `${entity}.restored`;
}

import type { PoolClient } from 'pg';
import { catalogKey, type CatalogFingerprints, type Fingerprint, type OptionRow, type ProductRow, type UnitRow } from './catalog-rows';
import { appendChanges, appendingFrom, sealChanges, type ChangeEventRow, type ChangeType, type OutboxSql } from '../feed/change-outbox';

type Entity = 'product' | 'option' | 'unit';

/** What the removal statements of each entity return for their events (`t`: the row, `r`: its key). */
const REMOVED_KEYS: Record<Entity, string> = {
  product: 't.octo_id AS product_octo_id, NULL::text AS option_octo_id, NULL::text AS unit_octo_id',
  option: 'r.product_octo_id, t.octo_id AS option_octo_id, NULL::text AS unit_octo_id',
  unit: 'r.product_octo_id, r.option_octo_id, t.octo_id AS unit_octo_id',
};

/**
 * The change-feed side of a catalog run: each slice's events are appended as one `jsonb`
 * parameter (no round trip per row, no staging table), removals append theirs in their own
 * statement, and {@link publish} draws the run's ticket just before COMMIT, after every row it
 * wrote. Whether a written row is created, updated or restored is read from the fingerprints the
 * run diffed against.
 */
export class CatalogChangeLog {
  private readonly sql: OutboxSql;

  private constructor(
    client: PoolClient,
    private readonly integrationId: string,
    private readonly stored: CatalogFingerprints,
  ) {
    this.sql = (text, values) => client.query(text, values);
  }

  static open(client: PoolClient, integrationId: string, stored: CatalogFingerprints): Promise<CatalogChangeLog> {
    return Promise.resolve(new CatalogChangeLog(client, integrationId, stored));
  }

  /** Appends the events of one written slice. */
  async stage(rows: { products: readonly ProductRow[]; options: readonly OptionRow[]; units: readonly UnitRow[] }): Promise<void> {
    await appendChanges(this.sql, [...this.events(rows)]);
  }

  private *events(rows: { products: readonly ProductRow[]; options: readonly OptionRow[]; units: readonly UnitRow[] }): Generator<ChangeEventRow> {
    const { stored } = this;
    for (const p of rows.products) yield this.event(kind('product', stored.products.get(p.octo_id)), p.octo_id, null, null, p.content_hash);
    for (const o of rows.options) {
      const before = stored.options.get(catalogKey(o.product_octo_id, o.octo_id));
      yield this.event(kind('option', before), o.product_octo_id, o.octo_id, null, o.content_hash);
    }
    for (const u of rows.units) {
      const before = stored.units.get(catalogKey(u.product_octo_id, u.option_octo_id, u.octo_id));
      yield this.event(kind('unit', before), u.product_octo_id, u.option_octo_id, u.octo_id, u.content_hash);
    }
  }

  /** `update` (a removal statement without RETURNING, `$1` the integration) rewritten to also append its `<entity>.removed` events. */
  stagingRemovals(update: string, entity: Entity): string {
    return appendingFrom(`${update}
  RETURNING $1::uuid AS integration_id, '${entity}.removed'::text AS type, ${REMOVED_KEYS[entity]}, NULL::text AS availability_id,
    t.content_hash, NULL::text AS key, NULL::text AS locale`);
  }

  publish(): Promise<void> {
    return sealChanges(this.sql);
  }

  private event(type: ChangeType, product: string, option: string | null, unit: string | null, hash: string): ChangeEventRow {
    return { integration_id: this.integrationId, type, product_octo_id: product, option_octo_id: option, unit_octo_id: unit, availability_id: null, content_hash: hash };
  }
}

function kind(entity: Entity, before: Fingerprint | undefined): ChangeType {
  if (before === undefined) return `${entity}.created`;
  return before.active ? `${entity}.updated` : `${entity}.restored`;
}

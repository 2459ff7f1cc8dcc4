import { catalogKey, type CatalogFingerprints, type Fingerprint } from './catalog-rows';
import type { SliceRows } from './catalog-encode';
import type { Remap } from '../identity/key-transfer';
import { appendChanges, type ChangeEventRow, type ChangeType, type OutboxSql } from '../feed/change-outbox';

/** A catalog entity, as its events name it. */
export type Entity = 'product' | 'option' | 'unit';

/** What a removal statement returns of each row it deactivated (see `REMOVED_KEYS` in catalog-writer.ts). */
export interface RemovedRow {
  product_octo_id: string;
  option_octo_id: string | null;
  unit_octo_id: string | null;
  content_hash: string;
}

/** Events per append statement: each is one `jsonb` parameter. */
const EVENTS_PER_APPEND = 10_000;

/**
 * The change-feed side of a catalog run: the events of its written rows, decided as each slice is
 * added (created, updated or restored, read from the fingerprints the run diffed against), the
 * `<entity>.removed` events its removal statements return, and {@link publish}, the last
 * statements before COMMIT, which append them all in that order.
 */
export class CatalogChangeLog {
  // One column per field, not one object per event: a 260,000-row run's events would otherwise
  // hold ~100 MB of objects until its transaction (the strings are shared with the rows).
  private readonly types: ChangeType[] = [];
  private readonly products: string[] = [];
  private readonly options: Array<string | null> = [];
  private readonly units: Array<string | null> = [];
  private readonly hashes: string[] = [];
  /** Only `product.remapped` events carry a key and a previous id, by their index. */
  private readonly remaps = new Map<number, Remap>();

  constructor(
    private readonly integrationId: string,
    private readonly stored: CatalogFingerprints,
  ) {}

  /** The events of one slice's written rows. */
  add(rows: SliceRows): void {
    const { stored } = this;
    for (const p of rows.products) this.push(kind('product', stored.products.get(p.octo_id)), p.octo_id, null, null, p.content_hash);
    for (const o of rows.options) this.push(kind('option', stored.options.get(catalogKey(o.product_octo_id, o.octo_id))), o.product_octo_id, o.octo_id, null, o.content_hash);
    for (const u of rows.units) {
      this.push(kind('unit', stored.units.get(catalogKey(u.product_octo_id, u.option_octo_id, u.octo_id))), u.product_octo_id, u.option_octo_id, u.octo_id, u.content_hash);
    }
  }

  /** The events of the rows a removal statement deactivated. */
  removed(entity: Entity, rows: readonly RemovedRow[]): void {
    for (const r of rows) this.push(`${entity}.removed`, r.product_octo_id, r.option_octo_id, r.unit_octo_id, r.content_hash);
  }

  /** A product whose key moved from the id that left to the one that appeared. */
  remapped(remap: Remap): void {
    this.remaps.set(this.types.length, remap);
    this.push('product.remapped', remap.to, null, null, remap.contentHash);
  }

  /**
   * Every event as one append's JSON, when they fit one, handed over to be appended with the
   * run's rows ({@link publish} then appends nothing); undefined when there are none or too many.
   */
  takeJson(): string | undefined {
    const count = this.types.length;
    if (count === 0 || count > EVENTS_PER_APPEND) return undefined;
    const json = JSON.stringify(this.events(0, count));
    for (const column of [this.types, this.products, this.options, this.units, this.hashes]) column.length = 0;
    this.remaps.clear();
    return json;
  }

  /** Appends every event to the change feed, in order: the transaction's last statements. */
  async publish(sql: OutboxSql): Promise<void> {
    for (let from = 0; from < this.types.length; from += EVENTS_PER_APPEND) await appendChanges(sql, this.events(from, Math.min(from + EVENTS_PER_APPEND, this.types.length)));
  }

  private events(from: number, to: number): ChangeEventRow[] {
    const events: ChangeEventRow[] = [];
    for (let i = from; i < to; i++) {
      const remap = this.remaps.get(i);
      events.push({
        integration_id: this.integrationId, type: this.types[i]!, product_octo_id: this.products[i]!, option_octo_id: this.options[i] ?? null,
        unit_octo_id: this.units[i] ?? null, availability_id: null, content_hash: this.hashes[i]!, key: remap?.key ?? null, previous_octo_id: remap?.from ?? null,
      });
    }
    return events;
  }

  private push(type: ChangeType, product: string, option: string | null, unit: string | null, hash: string): void {
    this.types.push(type);
    this.products.push(product);
    this.options.push(option);
    this.units.push(unit);
    this.hashes.push(hash);
  }
}

function kind(entity: Entity, before: Fingerprint | undefined): ChangeType {
  if (before === undefined) return `${entity}.created`;
  return before.active ? `${entity}.updated` : `${entity}.restored`;
}

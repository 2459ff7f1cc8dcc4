import { generateCatalog, reformatJson, slotStart, withoutProducts, withProductRenamed, withUnitPrice, type GeneratedProduct } from '@octo-sync/testkit';
import type { Rng } from './rng';
import type { Tenant } from './cast';

/** Where a slot's changes take their order from; `mixed` slots get changes of every source. */
export type SlotSource = 'sequence' | 'updatedAt' | 'mixed';

/** One slot change the soak sent, and whether a gateway answered it 2xx. */
export interface SentChange {
  op: number;
  tenant: number;
  slot: string;
  source: 'sequence' | 'updatedAt' | 'received';
  /** The sequence, or the updatedAt instant's milliseconds; undefined for receive-time ordering. */
  key: number | undefined;
  vacancies: number;
  acked: boolean;
}

/** Milliseconds of the first updatedAt the soak sends. */
export const UPDATED_AT_BASE_MS = Date.UTC(2026, 0, 1);
const SLOTS: ReadonlyArray<[string, SlotSource]> = [
  ['seq-0', 'sequence'], ['seq-1', 'sequence'], ['seq-2', 'sequence'],
  ['upd-0', 'updatedAt'], ['upd-1', 'updatedAt'], ['mix-0', 'mixed'],
];

/** What each tenant's supplier serves and which slot changes were sent: what the stored state must agree with. */
export class Model {
  readonly catalogs: GeneratedProduct[][];
  /** The operation index of the last catalog change of each tenant. */
  readonly lastCatalogOp: number[];
  readonly changes: SentChange[] = [];
  private readonly keys = new Map<string, number>();
  private added = 0;
  private vacancies = 0;

  constructor(tenants: readonly Tenant[]) {
    this.catalogs = tenants.map((t) => t.catalog);
    this.lastCatalogOp = tenants.map(() => -1);
  }

  slots(): ReadonlyArray<[string, SlotSource]> {
    return SLOTS;
  }

  /** The product whose first option carries the soak's slots: it never leaves the catalog. */
  anchor(tenant: number): { productId: string; optionId: string } {
    const product = this.catalogs[tenant]![0]!;
    return { productId: product.id, optionId: product.options[0]!.id };
  }

  /** Changes a tenant's catalog at random, serves it, and returns the kind of change. */
  mutateCatalog(rng: Rng, tenant: Tenant, op: number): string {
    const catalog = this.catalogs[tenant.index]!;
    const kind = rng.weighted({ add: 2, remove: 2, rename: 3, price: 3, reformat: 2 });
    let next = catalog;
    if (kind === 'add' || (kind === 'remove' && catalog.length < 3)) {
      const fresh = generateCatalog({ products: 1, options: 1 + rng.int(2), units: 1 + rng.int(3), seed: rng.int(1_000_000), idPrefix: `t${tenant.index}-a${this.added++}-` });
      next = [...catalog, ...fresh];
    } else if (kind === 'remove') next = withoutProducts(catalog, [catalog[1 + rng.int(catalog.length - 1)]!.id]);
    else if (kind === 'rename') next = withProductRenamed(catalog, rng.pick(catalog).id, `renamed ${rng.int(1_000_000)}`);
    else if (kind === 'price') {
      const product = rng.pick(catalog);
      const option = rng.pick(product.options);
      next = withUnitPrice(catalog, { productId: product.id, optionId: option.id, unitId: rng.pick(option.units).id }, 100 + rng.int(100_000));
    }
    this.catalogs[tenant.index] = next;
    this.lastCatalogOp[tenant.index] = op;
    if (kind === 'reformat') tenant.supplier.setRawBody(reformatJson(next, rng.int(3)));
    else tenant.supplier.setCatalog(next);
    return kind;
  }

  /** A new change for a slot: keys grow per slot, so the newest sent is the one that must win. */
  newChange(rng: Rng, op: number, tenant: number, slot: string, source: SlotSource): SentChange {
    const chosen = source === 'mixed' ? rng.pick(['sequence', 'updatedAt', 'received'] as const) : source;
    const id = `${tenant}/${slot}/${chosen}`;
    const key = chosen === 'received' ? undefined : (this.keys.get(id) ?? 0) + 1 + rng.int(3);
    if (key !== undefined) this.keys.set(id, key);
    const change: SentChange = { op, tenant, slot, source: chosen, key, vacancies: ++this.vacancies, acked: false };
    this.changes.push(change);
    return change;
  }
}

/** The flat notify body of a change. */
export function flatBody(change: SentChange, anchor: { productId: string; optionId: string }): Record<string, unknown> {
  return {
    ...anchor,
    availabilityId: change.slot,
    localDateTimeStart: slotStart(30, '10:00', '+02:00'),
    status: 'AVAILABLE',
    vacancies: change.vacancies,
    capacity: 10_000_000,
    ...orderField(change),
  };
}

/** The OCTO `availability_update` form of a change. */
export function nestedBody(change: SentChange, anchor: { productId: string; optionId: string }): Record<string, unknown> {
  return {
    webhook: { event: 'availability_update' },
    ...anchor,
    ...orderField(change),
    availability: { id: change.slot, localDateTimeStart: slotStart(30, '10:00', '+02:00'), status: 'AVAILABLE', vacancies: change.vacancies, capacity: 10_000_000 },
  };
}

function orderField(change: SentChange): Record<string, unknown> {
  if (change.key === undefined) return {};
  if (change.source === 'sequence') return { sequence: change.key };
  return { updatedAt: new Date(UPDATED_AT_BASE_MS + change.key * 1000).toISOString() };
}

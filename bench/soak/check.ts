import { canonicalHash } from '@octo-sync/octo';
import type { GeneratedProduct } from '@octo-sync/testkit';
import type { Cast } from './cast';
import { UPDATED_AT_BASE_MS, type Model, type SentChange } from './model';

/** One broken invariant, with what reproduces it: the seed and the operation index. */
export interface Violation {
  invariant: string;
  tenant: number;
  operation: number;
  detail: string;
}

function own(record: Record<string, unknown>, child: string): string {
  const { [child]: _dropped, ...rest } = record;
  return canonicalHash(rest);
}

/** `productId/optionId/unitId` → content hash, for every row the model's catalog holds. */
function expectedRows(catalog: readonly GeneratedProduct[]): Map<string, string> {
  const rows = new Map<string, string>();
  for (const p of catalog) {
    rows.set(p.id, own(p, 'options'));
    for (const o of p.options) {
      rows.set(`${p.id}/${o.id}`, own(o, 'units'));
      for (const u of o.units) rows.set(`${p.id}/${o.id}/${u.id}`, canonicalHash(u));
    }
  }
  return rows;
}

async function storedRows(cast: Cast, integrationId: string): Promise<Map<string, string>> {
  const products = await cast.db.prisma.product.findMany({
    where: { integrationId, active: true },
    select: { octoId: true, contentHash: true, options: { where: { active: true }, select: { octoId: true, contentHash: true, units: { where: { active: true }, select: { octoId: true, contentHash: true } } } } },
  });
  const rows = new Map<string, string>();
  for (const p of products) {
    rows.set(p.octoId, p.contentHash);
    for (const o of p.options) {
      rows.set(`${p.octoId}/${o.octoId}`, o.contentHash);
      for (const u of o.units) rows.set(`${p.octoId}/${o.octoId}/${u.octoId}`, u.contentHash);
    }
  }
  return rows;
}

/** Active rows equal the model's catalog row for row (ids and content hashes); every other row is inactive. */
export async function checkCatalogs(cast: Cast, model: Model): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const tenant of cast.tenants) {
    const expected = expectedRows(model.catalogs[tenant.index]!);
    const stored = await storedRows(cast, tenant.id);
    const wrong = [...new Set([...expected.keys(), ...stored.keys()])].filter((key) => expected.get(key) !== stored.get(key));
    if (wrong.length > 0) {
      const detail = wrong.slice(0, 5).map((key) => `${key}: expected ${expected.get(key)?.slice(0, 8) ?? 'inactive'}, stored ${stored.get(key)?.slice(0, 8) ?? 'inactive'}`).join('; ');
      violations.push({ invariant: 'catalog', tenant: tenant.index, operation: model.lastCatalogOp[tenant.index]!, detail: `${wrong.length} rows differ: ${detail}` });
    }
  }
  return violations;
}

function storedKey(slot: { lastSequence: bigint | null; lastUpdatedAtMs: bigint | null }, source: SentChange['source']): number | undefined {
  if (source === 'sequence') return slot.lastSequence === null ? undefined : Number(slot.lastSequence);
  if (source === 'updatedAt') return slot.lastUpdatedAtMs === null ? undefined : (Number(slot.lastUpdatedAtMs) - UPDATED_AT_BASE_MS) / 1000;
  return undefined;
}

/**
 * Per slot and ordering source: the newest key applied is at least the newest acknowledged one
 * (an unacknowledged change may have applied too), and it is a key that was sent; the slot shows
 * the values of the change its order key names.
 */
function checkSlot(changes: readonly SentChange[], slot: SlotRow | undefined): string | undefined {
  if (slot === undefined) return changes.some((c) => c.acked) ? 'acknowledged changes but no slot' : undefined;
  for (const source of ['sequence', 'updatedAt'] as const) {
    const ofSource = changes.filter((c) => c.source === source);
    const acked = Math.max(0, ...ofSource.filter((c) => c.acked).map((c) => c.key ?? 0));
    const stored = storedKey(slot, source) ?? 0;
    if (stored < acked) return `${source}: newest acknowledged ${acked}, applied ${stored}`;
    if (stored > 0 && !ofSource.some((c) => c.key === stored)) return `${source}: applied key ${stored} was never sent`;
  }
  const shown = changes.find((c) => c.vacancies === slot.vacancies);
  if (shown === undefined) return `shows vacancies ${String(slot.vacancies)}, which no change sent`;
  const source = slot.orderSource === 'sequence' ? 'sequence' : slot.orderSource === 'updated_at' ? 'updatedAt' : 'received';
  if (shown.source !== source || (source !== 'received' && shown.key !== Number(slot.orderSource === 'sequence' ? slot.orderKey : storedKey(slot, 'updatedAt')))) {
    return `shows the change of op ${shown.op} (${shown.source} ${String(shown.key)}), but its order is ${slot.orderSource} ${String(slot.orderKey)}`;
  }
  return undefined;
}

interface SlotRow {
  availabilityId: string;
  vacancies: number | null;
  orderKey: bigint;
  orderSource: string;
  lastSequence: bigint | null;
  lastUpdatedAtMs: bigint | null;
}

/** Every acknowledged slot change is reflected as the per-source ordering rule says. */
export async function checkSlots(cast: Cast, model: Model): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const tenant of cast.tenants) {
    const rows: SlotRow[] = await cast.db.prisma.availabilitySlot.findMany({
      where: { integrationId: tenant.id },
      select: { availabilityId: true, vacancies: true, orderKey: true, orderSource: true, lastSequence: true, lastUpdatedAtMs: true },
    });
    for (const [slot] of model.slots()) {
      const changes = model.changes.filter((c) => c.tenant === tenant.index && c.slot === slot);
      const problem = checkSlot(changes, rows.find((r) => r.availabilityId === slot));
      const newest = changes.filter((c) => c.acked).at(-1)?.op ?? -1;
      if (problem !== undefined) violations.push({ invariant: 'slot-order', tenant: tenant.index, operation: newest, detail: `${slot}: ${problem}` });
    }
  }
  return violations;
}

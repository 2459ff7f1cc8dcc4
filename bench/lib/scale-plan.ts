import type { Db } from '@octo-sync/db';
import { note, round } from './args';
import { appendEvents, copySlots, loadCatalog, sizeOf, type Block } from './scale-load';

/*
 * Where bench:scale puts each size's slots. The data grows in blocks, each a copy of the measured
 * window (same slots, same raw JSON) moved to another integration and/or other dates, so the
 * measured window itself never changes. The first size fills other integrations (each its own
 * window and some history around it); every later size first gives the measured integration a
 * history (its past, back to the retention, and its far future, outside its window) and then adds
 * more integrations.
 */

/** Days each other integration's blocks are moved by: its own window, its past and its near future. */
const OTHER_SHIFTS = [0, -30, -60, -90, -120, -150, 35, 65, 95, 125];
/** Integrations holding the catalog rows; a product there has 4 options of 5 units (25 rows). */
const CATALOG = { integrations: 4, options: 4, units: 5 };
/** Blocks per statement. */
const CHUNK = 10;

export interface PlanSpec {
  db: Db;
  /** The measured integration: its window is the block every copy is made from. */
  measured: string;
  window: { from: string; days: number };
  retentionDays: number;
  /** Creates another integration (the `n`th) and returns its id. */
  newIntegration: (n: number) => Promise<string>;
}

export interface Plan extends PlanSpec {
  others: string[];
  otherBlocks: number;
  historyBlocks: number;
  expiredBlocks: number;
  sizesLoaded: number;
}

/** What loading one size did. */
export interface LoadedSize {
  slots: number;
  databaseBytes: number;
  loadSeconds: number;
  catalogRows: number;
  expiredSlots: number;
  integrations: number;
}

export function placementsFrom(spec: PlanSpec): Plan {
  return { ...spec, others: [], otherBlocks: 0, historyBlocks: 0, expiredBlocks: 0, sizesLoaded: 0 };
}

/** The measured integration's history: back to the retention, then after its window up to two years ahead. */
function historyShifts(plan: Plan): number[] {
  const past = Array.from({ length: Math.floor((plan.retentionDays - plan.window.days) / 30) }, (_v, i) => -30 * (i + 1));
  const future = Array.from({ length: Math.floor((730 - plan.window.days - 35) / 30) + 1 }, (_v, i) => 35 + 30 * i);
  return [...past, ...future];
}

async function other(plan: Plan, n: number): Promise<string> {
  while (plan.others.length <= n) plan.others.push(await plan.newIntegration(plan.others.length + 1));
  return plan.others[n]!;
}

async function nextBlocks(plan: Plan, count: number): Promise<Block[]> {
  const blocks: Block[] = [];
  const history = plan.sizesLoaded === 0 ? [] : historyShifts(plan);
  while (blocks.length < count && plan.historyBlocks < history.length) blocks.push({ integrationId: plan.measured, shiftDays: history[plan.historyBlocks++]! });
  while (blocks.length < count) {
    const n = plan.otherBlocks++;
    blocks.push({ integrationId: await other(plan, Math.floor(n / OTHER_SHIFTS.length)), shiftDays: OTHER_SHIFTS[n % OTHER_SHIFTS.length]! });
  }
  return blocks;
}

async function loadCatalogRows(plan: Plan, rows: number): Promise<number> {
  const products = Math.round(rows / CATALOG.integrations / (1 + CATALOG.options * (1 + CATALOG.units)));
  let loaded = 0;
  for (let n = 0; n < CATALOG.integrations && products > 0; n++) loaded += await loadCatalog(plan.db.pool, await other(plan, n), { products, ...CATALOG });
  return loaded;
}

/**
 * One block of slots older than the retention, in months the partition job drops (it keeps every
 * month from today − retention − 2 days on; a block ends 70 days before the retention, so it never
 * shares that month): the first retention tick of the size drops them.
 */
async function loadExpired(plan: Plan, copy: (blocks: Block[]) => Promise<number>): Promise<number> {
  return copy([{ integrationId: plan.measured, shiftDays: -(plan.retentionDays + 70 + 60 * plan.expiredBlocks++) }]);
}

/** Grows the slot table to about `size` slots (whole blocks), the feed with it, plus `catalogRows` and a block of slots older than the retention. */
export async function loadSize(plan: Plan, size: number, catalogRows: number): Promise<LoadedSize> {
  const started = performance.now();
  const { pool } = plan.db;
  const from = new Date(`${plan.window.from}T00:00:00Z`);
  const source = { integrationId: plan.measured, from, to: new Date(from.getTime() + plan.window.days * 86_400_000) };
  const copy = (blocks: Block[]) => copySlots(pool, source, blocks);
  const counted = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM availability_slots WHERE integration_id = $1::uuid AND starts_at >= $2 AND starts_at < $3', [plan.measured, source.from, source.to]);
  const windowSlots = counted.rows[0]!.n;
  const catalog = catalogRows > 0 ? await loadCatalogRows(plan, catalogRows) : 0;
  const blocks = await nextBlocks(plan, Math.max(0, Math.round((size - (await sizeOf(pool)).slots) / windowSlots)));
  for (let i = 0; i < blocks.length; i += CHUNK) {
    const chunk = blocks.slice(i, i + CHUNK);
    await copy(chunk);
    for (const b of chunk) await appendEvents(pool, b.integrationId, windowSlots);
    note(`  ${Math.min(i + CHUNK, blocks.length)} of ${blocks.length} blocks of ${windowSlots} slots (${round((performance.now() - started) / 1000, 0)} s)`);
  }
  const expiredSlots = await loadExpired(plan, copy);
  await pool.query('VACUUM ANALYZE');
  plan.sizesLoaded += 1;
  const { slots, databaseBytes } = await sizeOf(pool);
  return { slots, databaseBytes, loadSeconds: round((performance.now() - started) / 1000, 1), catalogRows: catalog, expiredSlots, integrations: plan.others.length + 1 };
}

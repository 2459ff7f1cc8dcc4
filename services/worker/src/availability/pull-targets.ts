import { dayNumber, hintTargetsOf, HINT_SPAN_MAX_DAYS, type Db, type PullTarget, type RunWarning, type SyncRun } from '@octo-sync/db';
import type { PayloadOf, availabilityPullJob } from '@octo-sync/jobs';

/** An option to pull, with the local dates it is narrowed to (left out: the integration's window from today). */
export interface WindowedTarget extends PullTarget {
  from?: string;
  to?: string;
  /** A tier's days, counted from the local today of the target's time zone. */
  days?: { from: number; to: number };
}

/** What a pull run asks the supplier for, and the products or options it names that are not stored. */
export interface PullPlan {
  targets: WindowedTarget[];
  notStored: RunWarning[];
}

interface Scope {
  productId?: string;
  optionId?: string;
  from?: string;
  to?: string;
  days?: { from: number; to: number };
}

/**
 * The options a pull run pulls and their windows: the targets change hints recorded on the run
 * (read from the claimed row, so every hint that joined it is there), else the job's scope (a
 * refresh's product, option and dates, or every active option).
 */
export async function pullPlanOf(db: Db, integrationId: string, payload: PayloadOf<typeof availabilityPullJob>, run: Pick<SyncRun, 'hintTargets'>): Promise<PullPlan> {
  const scopes: Scope[] = (payload.hinted ? hintTargetsOf(run) : null) ?? [payload];
  const plans = await Promise.all(scopes.map((scope) => scopePlan(db, integrationId, scope)));
  return { targets: disjointWindows(plans.flatMap((p) => p.targets)), notStored: plans.flatMap((p) => p.notStored) };
}

const DAY_MS = 86_400_000;
const dateOf = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

/**
 * `targets` with each option asked for at most once per date: the dated windows of one option (a
 * product-wide hint expanded to its options, beside a hint of one of them) are united where they
 * overlap or touch, and a union longer than {@link HINT_SPAN_MAX_DAYS} is cut into consecutive
 * windows that share no date. Two answers for one slot in one run would write it twice in one
 * statement. An option also asked for undated (its whole window) keeps only that.
 */
function disjointWindows(targets: readonly WindowedTarget[]): WindowedTarget[] {
  const byOption = new Map<string, WindowedTarget[]>();
  for (const target of targets) {
    const key = JSON.stringify([target.productId, target.optionId]);
    byOption.set(key, [...(byOption.get(key) ?? []), target]);
  }
  return [...byOption.values()].flatMap((listed) => {
    const undated = listed.find((t) => t.from === undefined || t.to === undefined);
    if (undated !== undefined) return [undated];
    const spans = listed.map((t) => ({ from: dayNumber(t.from!), to: dayNumber(t.to!) })).sort((a, b) => a.from - b.from);
    const united: Array<{ from: number; to: number }> = [];
    for (const span of spans) {
      const last = united.at(-1);
      if (last !== undefined && span.from <= last.to + 1) last.to = Math.max(last.to, span.to);
      else united.push({ ...span });
    }
    const cut = united.flatMap(({ from, to }) => Array.from({ length: Math.ceil((to - from + 1) / HINT_SPAN_MAX_DAYS) }, (_, i) => ({ from: from + i * HINT_SPAN_MAX_DAYS, to: Math.min(to, from + (i + 1) * HINT_SPAN_MAX_DAYS - 1) })));
    return cut.map(({ from, to }) => ({ ...listed[0]!, from: dateOf(from), to: dateOf(to) }));
  });
}

async function scopePlan(db: Db, integrationId: string, scope: Scope): Promise<PullPlan> {
  const only = { ...(scope.productId === undefined ? {} : { productId: scope.productId }), ...(scope.optionId === undefined ? {} : { optionId: scope.optionId }) };
  const narrow = { ...(scope.from === undefined ? {} : { from: scope.from }), ...(scope.to === undefined ? {} : { to: scope.to }), ...(scope.days === undefined ? {} : { days: scope.days }) };
  const targets = (await db.pulls.targets(integrationId, only)).map((t) => ({ ...t, ...narrow }));
  const notStored = targets.length === 0 && only.productId !== undefined ? [await notStoredWarning(db, integrationId, only.productId, only.optionId)] : [];
  return { targets, notStored };
}

/**
 * A scope narrowed to a product (and option) with no active option stored pulls nothing: the
 * run names what it could not find, the option when its product is stored, else the product.
 */
async function notStoredWarning(db: Db, integrationId: string, productId: string, optionId: string | undefined): Promise<RunWarning> {
  const productStored = optionId !== undefined && (await db.pulls.targets(integrationId, { productId })).length > 0;
  const fix = 'nothing was pulled for it (a catalog sync, or a targeted refresh of the product, brings what the supplier added)';
  if (productStored) return { product_id: productId, path: 'optionId', reason: `option ${JSON.stringify(optionId)} of this product is not in the stored catalog, or is inactive: ${fix}` };
  return { product_id: productId, path: 'productId', reason: `product ${JSON.stringify(productId)} is not in the stored catalog, or has no active option: ${fix}` };
}

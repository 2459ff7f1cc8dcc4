import { hintTargetsOf, type Db, type PullTarget, type RunWarning, type SyncRun } from '@octo-sync/db';
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
  return { targets: plans.flatMap((p) => p.targets), notStored: plans.flatMap((p) => p.notStored) };
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

import { AppError } from '@octo-sync/platform';

/** `supplier_budget` as the store takes it; in a patch, fields left out keep their value. */
export interface SupplierBudgetPatch {
  requestsPerSecond?: number;
  concurrency?: number;
  throttleStatuses?: number[];
}

/** A stored budget, as a raise is measured against it. */
export interface StoredBudget {
  supplierRequestsPerSecond: number;
  supplierConcurrency: number;
  supplierThrottleStatuses: number[];
}

/** A new integration's budget (the columns' defaults in the migration): what a partner's own create may not exceed. */
const DEFAULT_SUPPLIER_BUDGET: Readonly<StoredBudget> = { supplierRequestsPerSecond: 5, supplierConcurrency: 4, supplierThrottleStatuses: [429, 503] };

/** `supplier_budget` as integration columns (those left out are not set). */
export function budgetColumns(budget: SupplierBudgetPatch | undefined): { supplierRequestsPerSecond?: number; supplierConcurrency?: number; supplierThrottleStatuses?: number[] } {
  if (budget === undefined) return {};
  return {
    ...(budget.requestsPerSecond === undefined ? {} : { supplierRequestsPerSecond: budget.requestsPerSecond }),
    ...(budget.concurrency === undefined ? {} : { supplierConcurrency: budget.concurrency }),
    ...(budget.throttleStatuses === undefined ? {} : { supplierThrottleStatuses: budget.throttleStatuses }),
  };
}

/**
 * A partner may lower its own budget, never raise it: more requests per second or in flight, or a
 * throttle status taken away (we would then press on where the supplier asks us to slow down).
 * Throws `BUDGET_RAISE_FORBIDDEN` naming every raise; `current` is the stored budget (the defaults
 * when the integration is being created). An update measures against the row it has locked.
 */
export function refuseBudgetRaise(budget: SupplierBudgetPatch | undefined, current: Readonly<StoredBudget> = DEFAULT_SUPPLIER_BUDGET): void {
  if (budget === undefined) return;
  const raises: string[] = [];
  const { requestsPerSecond: rate, concurrency, throttleStatuses: statuses } = budget;
  if (rate !== undefined && rate > current.supplierRequestsPerSecond) raises.push(`supplier_budget.requests_per_second: ${rate} is above the current ${current.supplierRequestsPerSecond}`);
  if (concurrency !== undefined && concurrency > current.supplierConcurrency) raises.push(`supplier_budget.concurrency: ${concurrency} is above the current ${current.supplierConcurrency}`);
  const dropped = statuses === undefined ? [] : current.supplierThrottleStatuses.filter((status) => !statuses.includes(status));
  if (dropped.length > 0) raises.push(`supplier_budget.throttle_statuses: would stop treating ${dropped.join(', ')} as throttling`);
  if (raises.length === 0) return;
  const details = [...raises, 'a partner may only lower its supplier budget; ask an admin (PATCH /admin/{id}) to raise it'];
  throw new AppError('BUDGET_RAISE_FORBIDDEN', details.join('; '), { details, expected: true });
}

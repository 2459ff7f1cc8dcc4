/** `supplier_budget` as the store takes it; in a patch, fields left out keep their value. */
export interface SupplierBudgetPatch {
  requestsPerSecond?: number;
  concurrency?: number;
  throttleStatuses?: number[];
}

/** `supplier_budget` as integration columns (those left out are not set). */
export function budgetColumns(budget: SupplierBudgetPatch | undefined): { supplierRequestsPerSecond?: number; supplierConcurrency?: number; supplierThrottleStatuses?: number[] } {
  if (budget === undefined) return {};
  return {
    ...(budget.requestsPerSecond === undefined ? {} : { supplierRequestsPerSecond: budget.requestsPerSecond }),
    ...(budget.concurrency === undefined ? {} : { supplierConcurrency: budget.concurrency }),
    ...(budget.throttleStatuses === undefined ? {} : { supplierThrottleStatuses: budget.throttleStatuses }),
  };
}

import type { z } from 'zod';
import type { supplierBudgetSchema } from './supplier-budget.schema';

type BudgetBody = z.output<typeof supplierBudgetSchema>;

/** `supplier_budget` as the store takes it (snake_case → camelCase, left-out fields left out). */
export function budgetPatchOf(body: BudgetBody | undefined): { supplierBudget?: { requestsPerSecond?: number; concurrency?: number; throttleStatuses?: number[] } } {
  if (body === undefined) return {};
  return {
    supplierBudget: {
      ...(body.requests_per_second === undefined ? {} : { requestsPerSecond: body.requests_per_second }),
      ...(body.concurrency === undefined ? {} : { concurrency: body.concurrency }),
      ...(body.throttle_statuses === undefined ? {} : { throttleStatuses: body.throttle_statuses }),
    },
  };
}

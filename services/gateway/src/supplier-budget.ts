import type { z } from 'zod';
import type { Integration } from '@octo-sync/db';
import { ApiError } from './errors';
import type { supplierBudgetSchema } from './supplier-budget.schema';

type BudgetBody = z.output<typeof supplierBudgetSchema>;
type StoredBudget = Pick<Integration, 'supplierRequestsPerSecond' | 'supplierConcurrency' | 'supplierThrottleStatuses'>;

/** A new integration's budget (the columns' defaults in the migration): what a partner's own create may not exceed. */
const DEFAULT_BUDGET: StoredBudget = { supplierRequestsPerSecond: 5, supplierConcurrency: 4, supplierThrottleStatuses: [429, 503] };

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

/**
 * A partner may lower its own budget, never raise it: more requests per second or in flight, or a
 * throttle status taken away (we would then press on where the supplier asks us to slow down).
 * Refuses with 403 `BUDGET_RAISE_FORBIDDEN` naming every raise; `current` is the stored budget
 * (the defaults when the integration is being created).
 */
export function refuseBudgetRaise(body: BudgetBody | undefined, current: StoredBudget = DEFAULT_BUDGET): void {
  if (body === undefined) return;
  const raises: string[] = [];
  const { requests_per_second: rate, concurrency, throttle_statuses: statuses } = body;
  if (rate !== undefined && rate > current.supplierRequestsPerSecond) raises.push(`supplier_budget.requests_per_second: ${rate} is above the current ${current.supplierRequestsPerSecond}`);
  if (concurrency !== undefined && concurrency > current.supplierConcurrency) raises.push(`supplier_budget.concurrency: ${concurrency} is above the current ${current.supplierConcurrency}`);
  const dropped = statuses === undefined ? [] : current.supplierThrottleStatuses.filter((status) => !statuses.includes(status));
  if (dropped.length > 0) raises.push(`supplier_budget.throttle_statuses: would stop treating ${dropped.join(', ')} as throttling`);
  if (raises.length > 0) throw new ApiError('BUDGET_RAISE_FORBIDDEN', [...raises, 'a partner may only lower its supplier budget; ask an admin (PATCH /admin/{id}) to raise it']);
}

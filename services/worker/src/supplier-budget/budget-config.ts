import { env } from '@octo-sync/platform';
import type { z } from 'zod';

/*
 * The supplier budget's part of the worker's one schema: config.ts composes these fields into it
 * and parses them with the rest, once, at start-up.
 */
export const budgetFields = {
  // A run whose calls waited on a throttling supplier longer than this in all fails with
  // SUPPLIER_THROTTLED: a 403 that really means revoked credentials is not retried politely forever.
  // Also the longest one throttled answer holds the supplier's calls, whatever its Retry-After.
  THROTTLE_MAX_MS: env.int(900_000, { min: 1_000, max: 24 * 3_600_000 }),
  // A wait up to this long is held in the worker slot; a longer one gives the slot back (the job is delayed).
  THROTTLE_INLINE_WAIT_MS: env.int(5_000, { min: 0, max: 600_000 }),
  // After a throttled answer the supplier's rate stays halved this long past its resume time.
  THROTTLE_SLOW_FOR_MS: env.int(60_000, { min: 0, max: 24 * 3_600_000 }),
  // Backoff after a throttled answer without Retry-After: base × 2^(throttles in a row − 1), capped.
  THROTTLE_BACKOFF_BASE_MS: env.int(1_000, { min: 1, max: 600_000 }),
  THROTTLE_BACKOFF_MAX_MS: env.int(60_000, { min: 1, max: 3_600_000 }),
};

type BudgetEnv = z.output<z.ZodObject<typeof budgetFields>>;

/** How every supplier call spends its integration's budget and waits out throttling. */
export interface BudgetConfig {
  throttleMaxMs: number;
  inlineWaitMs: number;
  slowForMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export function budgetConfig(e: BudgetEnv): BudgetConfig {
  return {
    throttleMaxMs: e.THROTTLE_MAX_MS,
    inlineWaitMs: e.THROTTLE_INLINE_WAIT_MS,
    slowForMs: e.THROTTLE_SLOW_FOR_MS,
    backoffBaseMs: e.THROTTLE_BACKOFF_BASE_MS,
    backoffMaxMs: e.THROTTLE_BACKOFF_MAX_MS,
  };
}

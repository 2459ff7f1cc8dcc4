import type { BackoffStrategy } from 'bullmq';

export interface RetrySettings {
  baseMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with jitter (between half and all of the step), except that a supplier's Retry-After (carried on the
 * error as `retryAfterMs`) is honoured, within `maxMs`.
 */
export function supplierBackoff({ baseMs, maxMs }: RetrySettings): BackoffStrategy {
  return (attemptsMade, _type, err) => {
    const retryAfter = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    if (typeof retryAfter === 'number' && retryAfter > 0) return Math.min(retryAfter, maxMs);
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  };
}

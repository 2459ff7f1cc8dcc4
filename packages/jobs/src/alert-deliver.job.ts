import { z } from 'zod';
import { defineJob } from './contract';

/**
 * One partner alert to POST to its integration's `alerts_url`. The alert row (in Postgres) holds
 * what is sent; the job delivers it. Retries follow the worker's alert backoff until the alert is
 * older than the worker's `ALERTS_RETRY_FOR_MS`; `attempts` is only the upper bound.
 */
export const alertDeliverJob = defineJob({
  queue: 'alerts',
  name: 'alert.deliver',
  payload: z.object({ alertId: z.uuid() }),
  jobId: (p) => `alert-${p.alertId}`,
  options: {
    attempts: 200,
    // The worker's strategy: exponential, capped (see ALERTS_RETRY_MAX_MS).
    backoff: { type: 'alert', delay: 10_000 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  },
});

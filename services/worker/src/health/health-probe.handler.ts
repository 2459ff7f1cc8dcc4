import { z } from 'zod';
import type { Db } from '@octo-sync/db';
import type { JobContext, PayloadOf, healthProbeJob } from '@octo-sync/jobs';
import { isSupplierError, type SupplierClient } from '@octo-sync/octo';
import { BudgetedCalls, budgetedClient, BudgetHeldError, type BudgetDeps } from '../supplier-budget/budgeted-supplier';

export interface HealthProbeDeps {
  db: Db;
  supplier: SupplierClient;
  settings: {
    /** Deadline of the whole probe request. */
    timeoutMs: number;
  };
  /** The suppliers' shared request budgets: a probe spends one call of its supplier's. */
  budget: BudgetDeps;
}

/** What one probe saw; the job's return value, read back by the tick's fan-out. */
export const probeOutcomeSchema = z.discriminatedUnion('probed', [
  z.object({ probed: z.literal(false), reason: z.enum(['not_found', 'not_eligible', 'throttled']) }),
  z.object({ probed: z.literal(true), ok: z.boolean(), code: z.string().optional(), latencyMs: z.number().optional() }),
]);
export type ProbeOutcome = z.infer<typeof probeOutcomeSchema>;

/**
 * `integration.health-check`: `GET {base_url}/products` with a short deadline through the same
 * outbound client as a sync; the status line and headers decide and the body is dropped unread.
 * It changes no state: the tick's fan-out collects every probe of the tick and applies them
 * together (or not at all, when the failures look like our own outage). A probe the supplier's
 * budget holds back (it is throttling us, or the budget is spent for a while) is "not probed":
 * throttling says nothing about whether the supplier is up, and must never lead to DOWN. Only a
 * 429, or a throttling status with `Retry-After`, is throttling here: a bare 503 is an outage.
 */
export function createHealthProbeHandler({ db, supplier, settings, budget }: HealthProbeDeps) {
  return async ({ integrationId }: PayloadOf<typeof healthProbeJob>, ctx: JobContext): Promise<ProbeOutcome> => {
    const integration = await db.integrations.findLive(integrationId);
    if (!integration) return { probed: false, reason: 'not_found' };
    // Approval or activity changed since the fan-out: nothing to probe.
    if (!integration.isApproved || !integration.isActive) return { probed: false, reason: 'not_eligible' };

    const target = { baseUrl: integration.baseUrl, authType: integration.authType, authKey: db.integrations.readAuthKey(integration) };
    const calls = new BudgetedCalls(budget, integration, { onLongWait: 'refuse', waitWhenSlowed: false, throttleNeedsRetryAfter: true }, ctx.signal);
    try {
      const answer = await budgetedClient(supplier, calls).probeProducts(target, { totalTimeoutMs: settings.timeoutMs, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      if (answer.contentLength === 0) return { probed: true, ok: false, code: 'SUPPLIER_EMPTY_BODY', latencyMs: answer.latencyMs };
      return { probed: true, ok: true, latencyMs: answer.latencyMs };
    } catch (err) {
      // Our own shutdown cut the probe short: that says nothing about the supplier.
      if (ctx.signal?.aborted) throw new Error('health probe interrupted by shutdown', { cause: err });
      if (err instanceof BudgetHeldError) return { probed: false, reason: 'throttled' };
      if (!isSupplierError(err)) throw err;
      return { probed: true, ok: false, code: err.code };
    }
  };
}

import type { Db, HealthStatus } from '@octo-sync/db';
import { catalogSyncJob, type JobContext, type JobProducer, type PayloadOf, type healthProbeJob } from '@octo-sync/jobs';
import { isSupplierError, type SupplierClient } from '@octo-sync/octo';

export interface HealthProbeDeps {
  db: Db;
  supplier: SupplierClient;
  producer: JobProducer;
  settings: {
    /** Deadline of the whole probe request. */
    timeoutMs: number;
    /** Consecutive failures that make an integration DOWN. */
    downAfter: number;
  };
}

export type HealthProbeResult =
  | { probed: false; reason: 'not_found' | 'not_eligible' }
  | { probed: true; ok: boolean; code?: string; previous: HealthStatus; status: HealthStatus; consecutiveFailures: number; recoveryRunId?: string; deactivated?: number };

/**
 * `integration.health-probe` (partner-api.md §6): `GET {base_url}/products` with a short deadline
 * through the same outbound client as a sync (a 2xx with a body is a success; the catalog is not
 * parsed), then one atomic state-machine step. Only the probe that makes the transition acts on
 * it: entering DOWN deactivates the products (and clears the catalog hashes, so the next sync
 * re-applies everything); leaving DOWN queues a `health_recovery` sync, which restores the
 * products still in the catalog.
 */
export function createHealthProbeHandler({ db, supplier, producer, settings }: HealthProbeDeps) {
  return async ({ integrationId }: PayloadOf<typeof healthProbeJob>, ctx: JobContext): Promise<HealthProbeResult> => {
    const integration = await db.integrations.findLive(integrationId);
    if (!integration) return { probed: false, reason: 'not_found' };
    // Approval or activity changed since the fan-out: nothing to probe.
    if (!integration.isApproved || !integration.isActive) return { probed: false, reason: 'not_eligible' };

    const target = { baseUrl: integration.baseUrl, authType: integration.authType, authKey: db.integrations.readAuthKey(integration) };
    let code: string | undefined;
    try {
      const fetched = await supplier.fetchProducts(target, { totalTimeoutMs: settings.timeoutMs, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      if (fetched.bytes === 0) code = 'SUPPLIER_EMPTY_BODY';
    } catch (err) {
      // Our own shutdown cut the probe short: that says nothing about the supplier.
      if (ctx.signal?.aborted) throw new Error('health probe interrupted by shutdown');
      if (!isSupplierError(err)) throw err;
      code = err.code;
    }

    const ok = code === undefined;
    const step = ok ? await db.health.recordSuccess(integrationId) : await db.health.recordFailure(integrationId, settings.downAfter);
    if (!step) return { probed: false, reason: 'not_found' };
    const log = ctx.log.child({ integrationId, previous: step.previous, status: step.current, consecutiveFailures: step.consecutiveFailures });
    const result: HealthProbeResult = { probed: true, ok, ...(code ? { code } : {}), previous: step.previous, status: step.current, consecutiveFailures: step.consecutiveFailures };

    if (step.previous !== 'DOWN' && step.current === 'DOWN') {
      const deactivated = await db.catalog.deactivateAll(integrationId);
      log.warn({ code, deactivated }, 'integration is DOWN: products deactivated, scheduled syncs paused');
      return { ...result, deactivated };
    }
    if (step.previous === 'DOWN' && step.current === 'HEALTHY') {
      const { runId } = await db.runs.requestRun(integrationId, 'health_recovery');
      await producer.enqueue(catalogSyncJob, { integrationId, runId });
      log.info({ runId }, 'integration recovered from DOWN: full sync queued');
      return { ...result, recoveryRunId: runId };
    }
    if (step.previous !== step.current) log.info({ code }, 'integration health changed');
    else log.debug({ code }, 'integration probed');
    return result;
  };
}

import { syncRefusal, type Db, type HealthStatus } from '@octo-sync/db';
import type { SyncRequests } from '@octo-sync/runs';
import type { Logger } from '@octo-sync/platform';
import type { AlertKind, Alerts } from '../alerts/alerts';

/** When a tick's failures are taken to be ours (egress, DNS) rather than the suppliers'. */
export interface OutageRule {
  /** More than this share of the probed integrations failed… */
  ratio: number;
  /** …and more than this many. */
  minimum: number;
}

/** One integration's probe result in a tick. */
export interface TickProbe {
  integrationId: string;
  ok: boolean;
  code?: string;
}

/** What applying one probe did to its integration. */
export interface HealthStep {
  integrationId: string;
  previous: HealthStatus;
  status: HealthStatus;
  consecutiveFailures: number;
  recoveryRunId?: string;
  deactivated?: number;
}

export interface ApplyDeps {
  db: Db;
  requests: SyncRequests;
  downAfter: number;
  alerts: Alerts;
}

/** True when a tick's failures look like our own outage: then no integration changes state. */
export function isSuspectedLocalOutage(probed: number, failed: number, rule: OutageRule): boolean {
  return failed > rule.minimum && failed > probed * rule.ratio;
}

/** The partner alert a health transition raises, if any. */
function alertOf(previous: HealthStatus, current: HealthStatus): AlertKind | undefined {
  if (previous === current) return undefined;
  if (current === 'DOWN') return 'integration.down';
  if (current === 'DEGRADED') return previous === 'HEALTHY' ? 'integration.degraded' : undefined;
  return 'integration.recovered';
}

/**
 * One atomic state-machine step for one probe result. Only the step that makes a transition acts
 * on it: entering DOWN deactivates the products (and clears the catalog hashes, so the next sync
 * re-applies everything); leaving DOWN queues a `health_recovery` sync, which restores the
 * products still in the catalog. Null for an integration deleted meanwhile.
 */
export async function applyProbe({ db, requests, downAfter, alerts }: ApplyDeps, probe: TickProbe, log: Logger): Promise<HealthStep | null> {
  const { integrationId, ok, code } = probe;
  const step = ok ? await db.health.recordSuccess(integrationId) : await db.health.recordFailure(integrationId, downAfter);
  if (!step) return null;
  const alert = alertOf(step.previous, step.current);
  if (alert) await alerts.raise(integrationId, alert, { previous: step.previous, status: step.current, consecutive_failures: step.consecutiveFailures, error_code: code ?? null });
  const result: HealthStep = { integrationId, previous: step.previous, status: step.current, consecutiveFailures: step.consecutiveFailures };
  const stepLog = log.child({ integrationId, previous: step.previous, status: step.current, consecutiveFailures: step.consecutiveFailures });
  if (step.previous !== 'DOWN' && step.current === 'DOWN') {
    const deactivated = await db.catalog.deactivateAll(integrationId);
    stepLog.warn({ code, deactivated }, 'integration is DOWN: products deactivated, scheduled syncs paused');
    return { ...result, deactivated };
  }
  if (step.previous === 'DOWN' && step.current === 'HEALTHY') {
    const integration = await db.integrations.findById(integrationId);
    const refusal = integration ? syncRefusal(integration, 'health_recovery') : undefined;
    if (!integration || refusal) {
      stepLog.info({ reason: refusal?.code ?? 'deleted' }, 'integration recovered from DOWN; no sync: it may not sync now');
      return result;
    }
    const { runId } = await requests.request(integration, 'health_recovery');
    stepLog.info({ runId }, 'integration recovered from DOWN: full sync queued');
    return { ...result, recoveryRunId: runId };
  }
  if (step.previous !== step.current) stepLog.info({ code }, 'integration health changed');
  else stepLog.debug({ code }, 'integration probed');
  return result;
}

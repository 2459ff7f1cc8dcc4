import type { Prisma } from '../generated/prisma/client';
import type { Integration } from '../integrations/integrations.store';
import type { RunTrigger } from './sync-runs.store';

/** Why an integration may not sync now; its `code` is stable, its `message` says what to do. */
export interface SyncRefusal {
  code: 'INTEGRATION_INACTIVE' | 'INTEGRATION_NOT_APPROVED' | 'INTEGRATION_DOWN';
  message: string;
}

/** The fields the rule reads (a webhook's cached integration has no health: it never schedules). */
export type SyncCandidate = Pick<Integration, 'isApproved' | 'isActive'> & Partial<Pick<Integration, 'deletedAt' | 'healthStatus'>>;

/**
 * The one rule for whether an integration may sync: approved, active and not deleted; a scheduled
 * run also not while the supplier is DOWN (a webhook or admin run still is: it is how a partner
 * recovers). {@link syncableWhere} is the same rule as a query filter.
 */
export function syncRefusal(integration: SyncCandidate, trigger: RunTrigger): SyncRefusal | undefined {
  if ((integration.deletedAt ?? null) !== null || !integration.isActive) {
    return { code: 'INTEGRATION_INACTIVE', message: 'integration: is inactive or deleted; an admin must reactivate it' };
  }
  if (!integration.isApproved) return { code: 'INTEGRATION_NOT_APPROVED', message: 'integration: is not approved yet; an admin must approve it before it can sync' };
  if (trigger === 'schedule' && integration.healthStatus === 'DOWN') {
    return { code: 'INTEGRATION_DOWN', message: 'integration: scheduled syncs are paused while the supplier is DOWN' };
  }
  return undefined;
}

/** {@link syncRefusal} as a query filter: the integrations a run of `trigger` may sync. */
export function syncableWhere(trigger: RunTrigger): Prisma.IntegrationWhereInput {
  const base: Prisma.IntegrationWhereInput = { isApproved: true, isActive: true, deletedAt: null };
  return trigger === 'schedule' ? { ...base, healthStatus: { not: 'DOWN' } } : base;
}

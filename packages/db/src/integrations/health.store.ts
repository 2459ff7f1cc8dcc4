import type { PrismaClient } from '../client';
import { syncableWhere } from '../runs/sync-eligibility';

export type HealthStatus = 'HEALTHY' | 'DEGRADED' | 'DOWN';

/** What one probe changed: the status before and after, read and written in one statement. */
export interface HealthTransition {
  previous: HealthStatus;
  current: HealthStatus;
  consecutiveFailures: number;
}

/**
 * The integration health state machine (HEALTHY → DEGRADED on a failed probe → DOWN after
 * `downAfter` failures in a row; any success → HEALTHY). Every transition is one conditional
 * `UPDATE … FROM (SELECT … FOR UPDATE) RETURNING` the previous status: the row lock orders racing
 * probes, and the second one reads what the first wrote, so a transition (entering DOWN, leaving
 * DOWN) is reported to exactly one caller.
 */
export class HealthStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Ids of the integrations to probe: every one a recovery run may sync, DOWN ones included (that
   * is how they recover).
   */
  async probeTargets(): Promise<string[]> {
    const rows = await this.prisma.integration.findMany({
      where: syncableWhere('health_recovery'),
      select: { id: true },
      orderBy: { id: 'asc' },
    });
    return rows.map((r) => r.id);
  }

  /** How many live (not deleted) integrations are in each health state: one grouped count, for metrics. */
  async countByStatus(): Promise<Record<HealthStatus, number>> {
    const groups = await this.prisma.integration.groupBy({ by: ['healthStatus'], where: { deletedAt: null }, _count: { _all: true } });
    const counts: Record<HealthStatus, number> = { HEALTHY: 0, DEGRADED: 0, DOWN: 0 };
    for (const group of groups) counts[group.healthStatus] = group._count._all;
    return counts;
  }

  /**
   * Success: HEALTHY, no failures, `last_success_at` and `last_probe_at` now; the DEGRADED/DOWN
   * timestamps describe the episode that just ended and are cleared. Null for an unknown or
   * deleted integration.
   */
  async recordSuccess(integrationId: string, now = new Date()): Promise<HealthTransition | null> {
    const rows = await this.prisma.$queryRaw<Array<{ previous: HealthStatus; current: HealthStatus; consecutive_failures: number }>>`
      UPDATE integrations AS i
      SET health_status = 'HEALTHY', consecutive_failures = 0, last_success_at = ${now}, last_probe_at = ${now},
          degraded_since = NULL, down_since = NULL, updated_at = ${now}
      FROM (SELECT id, health_status FROM integrations WHERE id = ${integrationId}::uuid AND deleted_at IS NULL FOR UPDATE) AS old
      WHERE i.id = old.id
      RETURNING old.health_status::text AS previous, i.health_status::text AS current, i.consecutive_failures`;
    return toTransition(rows[0]);
  }

  /**
   * Failure: one more consecutive failure; DEGRADED (`degraded_since` set when leaving HEALTHY),
   * DOWN once `downAfter` failures in a row are reached (`down_since` set when entering). A DOWN
   * integration stays DOWN until a probe succeeds. Null for an unknown or deleted integration.
   */
  async recordFailure(integrationId: string, downAfter: number, now = new Date()): Promise<HealthTransition | null> {
    const rows = await this.prisma.$queryRaw<Array<{ previous: HealthStatus; current: HealthStatus; consecutive_failures: number }>>`
      UPDATE integrations AS i
      SET consecutive_failures = old.consecutive_failures + 1,
          last_probe_at = ${now},
          health_status = CASE WHEN old.health_status = 'DOWN' OR old.consecutive_failures + 1 >= ${downAfter}
                               THEN 'DOWN'::"HealthStatus" ELSE 'DEGRADED'::"HealthStatus" END,
          degraded_since = CASE WHEN old.health_status = 'HEALTHY' THEN ${now} ELSE COALESCE(old.degraded_since, ${now}) END,
          down_since = CASE WHEN old.health_status = 'DOWN' THEN old.down_since
                            WHEN old.consecutive_failures + 1 >= ${downAfter} THEN ${now} ELSE NULL END,
          updated_at = ${now}
      FROM (SELECT id, health_status, consecutive_failures, degraded_since, down_since
            FROM integrations WHERE id = ${integrationId}::uuid AND deleted_at IS NULL FOR UPDATE) AS old
      WHERE i.id = old.id
      RETURNING old.health_status::text AS previous, i.health_status::text AS current, i.consecutive_failures`;
    return toTransition(rows[0]);
  }
}

function toTransition(row: { previous: HealthStatus; current: HealthStatus; consecutive_failures: number } | undefined): HealthTransition | null {
  if (!row) return null;
  return { previous: row.previous, current: row.current, consecutiveFailures: Number(row.consecutive_failures) };
}

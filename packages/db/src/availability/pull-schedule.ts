import type { Pool } from 'pg';
import type { PrismaClient } from '../client';
import type { Integration, Prisma } from '../generated/prisma/client';

/** One pull tier: the days up to `daysAhead` after the previous tier's (tier 0 from today), pulled every `intervalMinutes`. */
export interface PullTier {
  daysAhead: number;
  intervalMinutes: number;
}

/** An integration's tiers, as its `availability_pull_tiers` column stores them. */
export function pullTiersOf(integration: Pick<Integration, 'availabilityPullTiers'>): PullTier[] {
  const stored = integration.availabilityPullTiers as Array<{ days_ahead: number; interval_minutes: number }>;
  return stored.map((t) => ({ daysAhead: t.days_ahead, intervalMinutes: t.interval_minutes }));
}

/**
 * The integration columns of `tiers`: the tiers themselves, the whole window's days (the last
 * tier's: what a whole pull or refresh asks for) and the most frequent interval (the first tier's).
 */
export function tierColumns(tiers: readonly PullTier[]): { availabilityPullTiers: Prisma.InputJsonValue; availabilityPullDaysAhead: number; availabilityPullIntervalMinutes: number } {
  return {
    availabilityPullTiers: tiers.map((t) => ({ days_ahead: t.daysAhead, interval_minutes: t.intervalMinutes })),
    availabilityPullDaysAhead: tiers[tiers.length - 1]!.daysAhead,
    availabilityPullIntervalMinutes: tiers[0]!.intervalMinutes,
  };
}

/** The days a tier covers, counted from the local today (both included): the days after the previous tier's. */
export function tierDays(tiers: readonly PullTier[], tier: number): { from: number; to: number } | undefined {
  const own = tiers[tier];
  if (own === undefined) return undefined;
  return { from: tier === 0 ? 0 : tiers[tier - 1]!.daysAhead + 1, to: own.daysAhead };
}

/** `next_due_at` of a tier's row: its first phase slot after `now` (see {@link PullSchedule}). */
const NEXT_SLOT = (now: string, minutes: string, integrationId: string, tier: string) => `to_timestamp(
  (floor((extract(epoch FROM ${now}) - mod(abs(hashtext(${integrationId}::text || ':' || ${tier})::bigint), ${minutes} * 60)) / (${minutes} * 60)) + 1) * (${minutes} * 60)
  + mod(abs(hashtext(${integrationId}::text || ':' || ${tier})::bigint), ${minutes} * 60))`;

/** Rows of an integration's tiers (from its stored tiers), each due at its next slot unless due sooner already; tiers past the last go. */
const SCHEDULE_TIERS = `
WITH tiers AS (
  SELECT i.id AS integration_id, (t.n - 1)::smallint AS tier, (t.v->>'interval_minutes')::int AS minutes
  FROM integrations i CROSS JOIN LATERAL jsonb_array_elements(i.availability_pull_tiers) WITH ORDINALITY AS t(v, n)
  WHERE i.id = $1::uuid
), dropped AS (
  DELETE FROM availability_pull_schedule s WHERE s.integration_id = $1::uuid AND s.tier >= (SELECT count(*) FROM tiers)
)
INSERT INTO availability_pull_schedule AS s (integration_id, tier, next_due_at)
SELECT integration_id, tier, ${NEXT_SLOT('now()', 'minutes', 'integration_id', 'tier')} FROM tiers
ON CONFLICT (integration_id, tier) DO UPDATE SET next_due_at = LEAST(s.next_due_at, excluded.next_due_at)`;

/**
 * Writes the schedule rows of an integration's stored tiers, in the transaction `tx` that stored
 * them: a new tier is due at its next phase slot; a changed one keeps its due time unless its
 * new interval makes it due sooner; tiers past the last are dropped.
 */
export async function scheduleTiers(tx: Prisma.TransactionClient, integrationId: string): Promise<void> {
  await tx.$executeRawUnsafe(SCHEDULE_TIERS, integrationId);
}

/** A tier the tick claimed: its integration, its number, and when it was due (to give it back). */
export interface DueTier {
  integration: Integration;
  tier: number;
  dueAt: Date;
}

/** Eligible: pulls on, approved, active, live, not DOWN (the eligibility rule of scheduled syncs). */
const CLAIM_DUE = `
WITH due AS (
  SELECT s.integration_id, s.tier, s.next_due_at, (i.availability_pull_tiers->s.tier->>'interval_minutes')::int AS minutes
  FROM availability_pull_schedule s JOIN integrations i ON i.id = s.integration_id
  WHERE s.next_due_at <= $1::timestamptz AND i.availability_pull_enabled AND i.is_approved AND i.is_active
    AND i.deleted_at IS NULL AND i.health_status <> 'DOWN'
  ORDER BY s.next_due_at
  LIMIT $2
  FOR UPDATE OF s SKIP LOCKED
)
UPDATE availability_pull_schedule AS s SET next_due_at = ${NEXT_SLOT('$1::timestamptz', 'due.minutes', 's.integration_id', 's.tier')}
FROM due WHERE s.integration_id = due.integration_id AND s.tier = due.tier
RETURNING s.integration_id AS "integrationId", s.tier::int AS tier, due.next_due_at AS "dueAt"`;

// A queued run first (its job may need enqueueing again); a running one only while it started
// within $3 ms (older, the claim of a new run abandons it).
const IN_FLIGHT = `
SELECT id::text AS "runId", status::text AS status FROM sync_runs
WHERE integration_id = $1::uuid AND kind = 'availability_pull' AND pull_scope = $2
  AND (status = 'queued' OR (status = 'running' AND started_at > clock_timestamp() - make_interval(secs => $3::float8 / 1000)))
ORDER BY status = 'queued' DESC, queued_at LIMIT 1`;

const GIVE_BACK = `
UPDATE availability_pull_schedule AS s SET next_due_at = LEAST(s.next_due_at, g.due_at)
FROM jsonb_to_recordset($1::jsonb) AS g(integration_id uuid, tier smallint, due_at timestamptz)
WHERE s.integration_id = g.integration_id AND s.tier = g.tier`;

/**
 * The pull schedule (`availability_pull_schedule`): when each tier of each integration is due.
 * A tier fires on slots of its interval shifted by a phase (a hash of integration and tier), so
 * the fleet's tiers spread over their interval and one tier fires at most once per slot: a tick
 * that claims a due row moves it to its first slot after the tick's `now`, whatever the run
 * history says (a refresh or a hint pull never moves it).
 */
export class PullSchedule {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
  ) {}

  /**
   * Claims up to `limit` tiers due at `now` of eligible integrations and moves each to its next
   * slot, in one statement: ticks in parallel skip each other's rows (SKIP LOCKED), so a tier is
   * claimed once per slot.
   */
  async claimDue(now: Date, limit: number): Promise<DueTier[]> {
    const { rows } = await this.pool.query<{ integrationId: string; tier: number; dueAt: Date }>(CLAIM_DUE, [now, limit]);
    if (rows.length === 0) return [];
    const integrations = new Map((await this.prisma.integration.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.integrationId))] } } })).map((i) => [i.id, i]));
    return rows.map((r) => ({ integration: integrations.get(r.integrationId)!, tier: r.tier, dueAt: r.dueAt }));
  }

  /** Makes claimed tiers due again at the time they were due (their pull could not be requested). */
  async giveBack(tiers: readonly DueTier[]): Promise<void> {
    if (tiers.length === 0) return;
    await this.pool.query(GIVE_BACK, [JSON.stringify(tiers.map((t) => ({ integration_id: t.integration.id, tier: t.tier, due_at: t.dueAt.toISOString() })))]);
  }

  /**
   * The pull run of `pullScope` (a tier's key) of the integration that is queued, else running and
   * started less than `abandonAfterMs` ago; undefined when none.
   */
  async inFlight(integrationId: string, pullScope: string, abandonAfterMs: number): Promise<{ runId: string; status: 'queued' | 'running' } | undefined> {
    const { rows } = await this.pool.query<{ runId: string; status: 'queued' | 'running' }>(IN_FLIGHT, [integrationId, pullScope, abandonAfterMs]);
    return rows[0];
  }

  /** The schedule rows of an integration, by tier. */
  async of(integrationId: string): Promise<Array<{ tier: number; nextDueAt: Date }>> {
    const { rows } = await this.pool.query<{ tier: number; nextDueAt: Date }>(
      'SELECT tier::int AS tier, next_due_at AS "nextDueAt" FROM availability_pull_schedule WHERE integration_id = $1::uuid ORDER BY tier',
      [integrationId],
    );
    return rows;
  }
}

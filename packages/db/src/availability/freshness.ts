/*
 * Freshness you can see: per integration and pull tier, the oldest confirmation among the active
 * options' days in the tier's window (issue 22 item 6).
 *
 * A day of an option is confirmed by the newest pull mark whose window holds it (the pull marks'
 * rule of `confirmedAt`, slot-order.ts: an answer confirms every slot of its window, written or
 * not). A push confirms one slot, not a day, so it does not count here: the figure is the age of
 * what the pulls last said, never younger than the slots' own `confirmed_at`. A day no mark holds
 * (never pulled, or its mark pruned) counts from the latest of the integration's creation, its
 * option's (and product's) creation, and the local midnight at which the day entered the
 * integration's whole pull window (its date minus the last tier's `days_ahead`, at the zone's
 * offset now): since then it could have been pulled and was not.
 *
 * Set-based and without reading slots: over a window, the newest mark holding a day changes only
 * where a mark starts or ends, so each option is evaluated at the window's first day and at each of
 * its marks' edges inside the window (the first day of a stretch is its oldest, for an uncovered
 * stretch too). Cost: active options x (marks per option)^2, and marks per option stay a handful
 * (pull-marks.ts prunes covered and expired ones), in one statement: 10x the options is 10x the
 * work plus sorts that grow slightly faster (measured 10-13x: README, "Freshness per pull tier").
 */
import type { Pool } from 'pg';

/** `zone`'s local date (`YYYY-MM-DD`) and UTC offset in seconds at `now`; none for a zone Intl does not know. */
function zoneAt(zone: string, now: Date): Array<{ zone: string; today: string; offset_s: number }> {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(now);
  } catch (error: unknown) {
    if (error instanceof RangeError) return [];
    throw error;
  }
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)!.value);
  const local = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  const today = new Date(Date.UTC(part('year'), part('month') - 1, part('day'))).toISOString().slice(0, 10);
  return [{ zone, today, offset_s: Math.round((local - Math.floor(now.getTime() / 1000) * 1000) / 1000) }];
}

/** Which integrations: some by id (whatever their state), or those the pull schedule pulls. */
const INTEGRATIONS = {
  byId: 'i.id = ANY($3::uuid[])',
  scheduled: `i.deleted_at IS NULL AND i.is_approved AND i.is_active AND i.availability_pull_enabled AND i.health_status <> 'DOWN'`,
} as const;

/**
 * $1 now, $2 the products' time zones as {@link zonesAt} gives them; the oldest confirmation per
 * (integration, tier) of the integrations `which` selects.
 */
const OLDEST = (which: string) => `
WITH tiers AS (
  SELECT i.id AS integration_id, i.created_at, (t.n - 1)::int AS tier, (t.v->>'interval_minutes')::int AS interval_minutes,
    COALESCE(lag((t.v->>'days_ahead')::int) OVER (PARTITION BY i.id ORDER BY t.n) + 1, 0) AS day_from, (t.v->>'days_ahead')::int AS day_to,
    (i.availability_pull_tiers->-1->>'days_ahead')::int AS days_ahead
  FROM integrations i CROSS JOIN LATERAL jsonb_array_elements(i.availability_pull_tiers) WITH ORDINALITY AS t(v, n)
  WHERE ${which}
), options AS (
  SELECT p.integration_id, p.octo_id AS product_octo_id, o.octo_id AS option_octo_id, GREATEST(p.created_at, o.created_at) AS created_at,
    COALESCE(z.offset_s, 0) AS offset_s, COALESCE(z.today, ($1::timestamptz AT TIME ZONE 'UTC')::date) AS today
  FROM products p JOIN product_options o ON o.product_id = p.id
  LEFT JOIN jsonb_to_recordset($2::jsonb) AS z(zone text, today date, offset_s int) ON z.zone = p.time_zone
  WHERE p.integration_id IN (SELECT integration_id FROM tiers) AND p.active AND o.active
), windows AS (
  SELECT t.integration_id, t.tier, o.product_octo_id, o.option_octo_id, o.offset_s, o.today + t.day_from AS first_day, o.today + t.day_to AS last_day,
    t.days_ahead, GREATEST(t.created_at, o.created_at) AS created_at
  FROM tiers t JOIN options o ON o.integration_id = t.integration_id
), starts AS (
  SELECT w.*, w.first_day AS day FROM windows w
  UNION ALL
  SELECT w.*, e.day FROM windows w
  JOIN availability_pull_marks m ON m.integration_id = w.integration_id AND m.product_octo_id = w.product_octo_id AND m.option_octo_id = w.option_octo_id
  CROSS JOIN LATERAL (VALUES (m.date_from::date), (m.date_to::date + 1)) AS e(day)
  WHERE e.day > w.first_day AND e.day <= w.last_day
)
SELECT s.integration_id AS "integrationId", s.tier, min(COALESCE(
  (SELECT to_timestamp(max(m.answer_key)::float8 / 1e9) FROM availability_pull_marks m
    WHERE m.integration_id = s.integration_id AND m.product_octo_id = s.product_octo_id AND m.option_octo_id = s.option_octo_id
      AND m.date_from <= to_char(s.day, 'YYYY-MM-DD') AND m.date_to >= to_char(s.day, 'YYYY-MM-DD')),
  GREATEST(s.created_at, ((s.day - s.days_ahead)::timestamp - make_interval(secs => s.offset_s)) AT TIME ZONE 'UTC'))) AS "oldestConfirmedAt"
FROM starts s GROUP BY s.integration_id, s.tier`;

/** $1 now, $2 the zones: per tier number, the p50 and p99 over the scheduled integrations of their oldest confirmation's age, and the tier's longest interval. */
const FLEET = `
WITH oldest AS (${OLDEST(INTEGRATIONS.scheduled)}),
ages AS (
  SELECT o.tier, GREATEST(0, extract(epoch FROM $1::timestamptz - o."oldestConfirmedAt"))::float8 AS age,
    (i.availability_pull_tiers->o.tier->>'interval_minutes')::int AS interval_minutes
  FROM oldest o JOIN integrations i ON i.id = o."integrationId"
)
SELECT tier, count(*)::int AS integrations, percentile_cont(0.5) WITHIN GROUP (ORDER BY age) AS p50,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY age) AS p99, max(interval_minutes) * 60 AS "intervalSeconds"
FROM ages GROUP BY tier ORDER BY tier`;

/** One tier of one integration: when the oldest day of its window was last confirmed. */
export interface TierFreshness {
  integrationId: string;
  /** The tier's number, from 0 (the nearest days). */
  tier: number;
  oldestConfirmedAt: Date;
}

/** One tier number over the fleet of scheduled integrations having it. */
export interface FleetTierFreshness {
  tier: number;
  /** Integrations with that tier and at least one active option. */
  integrations: number;
  /** Quantiles of their oldest confirmation's age, in seconds. */
  p50: number;
  p99: number;
  /** The longest `interval_minutes` among them, in seconds. */
  intervalSeconds: number;
}

/**
 * Confirmation ages per pull tier, derived from the pull marks when asked. An integration without
 * an active option has no figure for its tiers (nothing to confirm).
 */
export class FreshnessStore {
  constructor(private readonly pool: Pool) {}

  /** The oldest confirmation of each tier of the integrations `ids` (any state), at `now`. */
  async ofIntegrations(ids: readonly string[], now = new Date()): Promise<TierFreshness[]> {
    if (ids.length === 0) return [];
    const zones = await this.zonesAt(now, ids);
    const { rows } = await this.pool.query<TierFreshness>(`${OLDEST(INTEGRATIONS.byId)} ORDER BY 1, 2`, [now, zones, ids]);
    return rows;
  }

  /**
   * The fleet's figures per tier number at `now`, over the integrations the pull schedule pulls
   * (approved, active, pulls on, not deleted, not DOWN: a DOWN integration is not pulled, and has an
   * alert of its own).
   */
  async fleet(now = new Date()): Promise<FleetTierFreshness[]> {
    const { rows } = await this.pool.query<FleetTierFreshness>(FLEET, [now, await this.zonesAt(now)]);
    return rows;
  }

  /**
   * The local today and UTC offset at `now` of the active products' time zones (of the
   * integrations `ids`, else all), as JSON: read as the pull's window reads them (Intl; a zone it
   * does not know is left out and counts as UTC), once per zone instead of once per product.
   */
  private async zonesAt(now: Date, ids?: readonly string[]): Promise<string> {
    const { rows } = await this.pool.query<{ zone: string }>(
      'SELECT DISTINCT time_zone AS zone FROM products WHERE active AND time_zone IS NOT NULL AND ($1::uuid[] IS NULL OR integration_id = ANY($1::uuid[]))',
      [ids ?? null],
    );
    return JSON.stringify(rows.flatMap(({ zone }) => zoneAt(zone, now)));
  }
}

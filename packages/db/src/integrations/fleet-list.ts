import type { Pool } from 'pg';
import type { FreshnessStore } from '../availability/freshness';
import type { PrismaClient } from '../client';
import type { Integration } from '../generated/prisma/client';
import { cappedCount, COUNT_CAP, offsetOf, toListPage, type ListPage } from '../paging';
import { isTierScopeSql, tierScopeSql } from '../runs/pull-flight';
import { SYNC_RUN_COLUMNS, type SyncRun } from '../runs/sync-runs.store';

export type SyncStatusFilter = 'idle' | 'syncing' | 'error';
export type HealthStatusFilter = 'HEALTHY' | 'DEGRADED' | 'DOWN';

/**
 * How the fleet is ordered, always worst or newest first: by creation (the default), by last
 * change, or by a state (DOWN, then DEGRADED, then HEALTHY; stale first; failing first) and within
 * one state by creation.
 */
export type FleetSort = 'created_at' | 'updated_at' | 'health_status' | 'stale' | 'failing';

/**
 * The fleet list's sort key: the sort it belongs to (a cursor is only good for its own sort), the
 * row's rank in that sort (0 for the time sorts), its time (created_at, or updated_at) and its id.
 */
export type FleetListKey = readonly [sort: string, rank: string, at: string, id: string];

/** Filters, order and page of {@link FleetStore.list}; deleted integrations are never listed. */
export interface FleetQuery {
  isApproved?: boolean;
  isActive?: boolean;
  syncStatus?: SyncStatusFilter;
  healthStatus?: HealthStatusFilter;
  partnerId?: string;
  stale?: boolean;
  /** The last catalog sync failed (`sync_status` is `error`). */
  failing?: boolean;
  sort: FleetSort;
  /** 1-based. */
  page: number;
  pageSize: number;
  after?: FleetListKey | undefined;
}

/** One integration as the operator console lists it. */
export interface FleetRow {
  integration: Integration;
  /** When its last scheduled availability pull (a tier's or the whole window's) that succeeded finished; null: none yet. */
  lastPullAt: Date | null;
  /** See {@link STALE}. */
  stale: boolean;
  /** Per pull tier with an active option to confirm: when the oldest day of its window was last confirmed (freshness.ts). */
  tiers: Array<{ tier: number; oldestConfirmedAt: Date }>;
  /** Its newest catalog run, whatever its state; null: none yet. */
  lastRun: SyncRun | null;
}

/** Successful pulls of `i` covering tier `tier` (an SQL expression, from 0): that tier's, or the whole window's. */
const TIER_PULLS = (tier: string) => `FROM sync_runs r WHERE r.integration_id = i.id AND r.kind = 'availability_pull' AND r.status IN ('succeeded', 'skipped')
    AND (r.pull_scope IS NULL OR r.pull_scope = ${tierScopeSql(tier)})`;

const LAST_PULL = `LEFT JOIN LATERAL (
  SELECT r.finished_at FROM sync_runs r
  WHERE r.integration_id = i.id AND r.kind = 'availability_pull' AND r.status IN ('succeeded', 'skipped') AND (r.pull_scope IS NULL OR ${isTierScopeSql('r.pull_scope')})
  ORDER BY r.queued_at DESC LIMIT 1) lp ON true`;

/**
 * The run history's freshness rule (beside each tier's confirmation age, freshness.ts): an approved, active
 * integration with scheduled pulls is stale when, for one of its tiers, the last successful pull
 * covering it (the tier's or a whole one; before the first, the creation) is older than twice that
 * tier's interval, i.e. at least one pull of that tier was missed. The newest such pull is read
 * newest first by the run index (the scan stops at the first match), never a max over the history.
 */
const STALE = `(i.is_approved AND i.is_active AND i.availability_pull_enabled AND EXISTS (
  SELECT 1 FROM jsonb_array_elements(i.availability_pull_tiers) WITH ORDINALITY AS t(v, n)
  WHERE COALESCE((SELECT r.finished_at ${TIER_PULLS('(t.n - 1)')} ORDER BY r.queued_at DESC LIMIT 1), i.created_at) < now() - make_interval(mins => 2 * (t.v->>'interval_minutes')::int)))`;

const RANK: Record<FleetSort, string> = {
  created_at: '0',
  updated_at: '0',
  health_status: `CASE i.health_status WHEN 'DOWN' THEN 2 WHEN 'DEGRADED' THEN 1 ELSE 0 END`,
  stale: `${STALE}::int`,
  failing: `(i.sync_status = 'error')::int`,
};

/** Only a `stale` filter or sort needs the freshness rule for every row; a page's rows get it afterwards. */
const needsFreshness = (query: FleetQuery) => query.stale !== undefined || query.sort === 'stale';

/** The `FROM … WHERE …` of one filtered fleet, its values pushed onto `params`. */
function fleetFrom(query: FleetQuery, params: unknown[]): string {
  const where = ['i.deleted_at IS NULL'];
  const bind = (value: unknown) => `$${params.push(value)}`;
  if (query.isApproved !== undefined) where.push(`i.is_approved = ${bind(query.isApproved)}`);
  if (query.isActive !== undefined) where.push(`i.is_active = ${bind(query.isActive)}`);
  if (query.syncStatus !== undefined) where.push(`i.sync_status = ${bind(query.syncStatus)}::"SyncStatus"`);
  if (query.healthStatus !== undefined) where.push(`i.health_status = ${bind(query.healthStatus)}::"HealthStatus"`);
  if (query.partnerId !== undefined) where.push(`i.partner_id = ${bind(query.partnerId)}`);
  if (query.stale !== undefined) where.push(`${STALE} = ${bind(query.stale)}`);
  if (query.failing !== undefined) where.push(`(i.sync_status = 'error') = ${bind(query.failing)}`);
  return `FROM integrations i ${needsFreshness(query) ? LAST_PULL : ''} WHERE ${where.join(' AND ')}`;
}

interface FleetLine {
  id: string;
  rank: number;
  at: Date;
}

interface Freshness {
  id: string;
  last_pull_at: Date | null;
  stale: boolean;
}

/**
 * The operator console's fleet list (`GET /admin`): every live integration with its freshness and
 * its last catalog run, filtered, ordered and paged by key. Filtering or ordering by `stale`
 * evaluates the freshness rule for every live integration (one index probe of its runs each); the
 * other filters and orders read the integrations' own columns, and only a page's rows get their
 * freshness and last run.
 */
export class FleetStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly freshness: FreshnessStore,
  ) {}

  async list(query: FleetQuery): Promise<ListPage<FleetRow, FleetListKey>> {
    const params: unknown[] = [];
    const from = fleetFrom(query, params);
    const at = query.sort === 'updated_at' ? 'i.updated_at' : 'i.created_at';
    const rank = RANK[query.sort];
    // The time sorts seek and order on (time, id) alone, so `created_at` walks its index from the cursor.
    const [key, bound] = rank === '0' ? [[at, 'i.id'], ['timestamptz', 'uuid']] : [[rank, at, 'i.id'], ['int', 'timestamptz', 'uuid']];
    const seek = query.after === undefined ? '' : `AND (${key.join(', ')}) < (${bound.map((type, n) => `$${params.length + n + 1}::${type}`).join(', ')})`;
    const seekParams = query.after === undefined ? [] : rank === '0' ? [query.after[2], query.after[3]] : [Number(query.after[1]), query.after[2], query.after[3]];
    const page = [...params, ...seekParams, query.pageSize + 1, offsetOf(query)];
    const [lines, counted] = await Promise.all([
      this.pool.query<FleetLine>(
        `SELECT i.id, ${rank} AS rank, ${at} AS at ${from} ${seek}
         ORDER BY ${key.map((part) => `${part} DESC`).join(', ')} LIMIT $${page.length - 1} OFFSET $${page.length}`,
        page,
      ),
      this.pool.query<{ n: number }>(cappedCount(from, params.length + 1), [...params, COUNT_CAP + 1]),
    ]);
    const sort = query.sort;
    const linesPage = toListPage(lines.rows, query.pageSize, counted.rows[0]?.n ?? 0, (l): FleetListKey => [sort, String(l.rank), l.at.toISOString(), l.id]);
    return { ...linesPage, items: await this.rowsOf(linesPage.items.map((l) => l.id)) };
  }

  /** The page's integrations, their freshness (per tier too) and last catalog runs, in the page's order (one that vanished since is left out). */
  private async rowsOf(ids: readonly string[]): Promise<FleetRow[]> {
    const [integrations, freshness, tiers, runs] = await Promise.all([
      this.prisma.integration.findMany({ where: { id: { in: [...ids] } } }),
      this.pool.query<Freshness>(`SELECT i.id, lp.finished_at AS last_pull_at, ${STALE} AS stale FROM integrations i ${LAST_PULL} WHERE i.id = ANY($1::uuid[])`, [ids]),
      this.freshness.ofIntegrations(ids),
      this.pool.query<SyncRun>(
        `SELECT r.* FROM unnest($1::uuid[]) AS page(id)
         CROSS JOIN LATERAL (SELECT ${SYNC_RUN_COLUMNS} FROM sync_runs WHERE integration_id = page.id AND kind = 'catalog' ORDER BY queued_at DESC LIMIT 1) r`,
        [ids],
      ),
    ]);
    const byId = new Map(integrations.map((i) => [i.id, i]));
    const freshnessOf = new Map(freshness.rows.map((f) => [f.id, f]));
    const runOf = new Map(runs.rows.map((r) => [r.integrationId, r]));
    return ids.flatMap((id) => {
      const integration = byId.get(id);
      const fresh = freshnessOf.get(id);
      const own = tiers.filter((t) => t.integrationId === id).map((t) => ({ tier: t.tier, oldestConfirmedAt: t.oldestConfirmedAt }));
      return integration && fresh ? [{ integration, lastPullAt: fresh.last_pull_at, stale: fresh.stale, tiers: own, lastRun: runOf.get(id) ?? null }] : [];
    });
  }
}

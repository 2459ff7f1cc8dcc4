import { z } from 'zod';
import { queueOverview, type JobProducer, type QueueOverview } from '@octo-sync/jobs';
import { pullTiersOf, tierDays, type Db, type FleetRow } from '@octo-sync/db';
import { listReply } from './list-paging';
import { BASE_PATH } from './paths';
import { presentIntegration, presentRun } from './presenters';
import { fleetQuerySchema } from './request-schemas';
import { integrationSchema, listEnvelope, runSchema } from './response-schemas';
import { defineRoute, type RouteSpec } from './route';

const isoTime = z.iso.datetime({ offset: false });

const tierFreshnessSchema = z
  .object({
    tier: z.number().int().min(0).openapi({ description: 'The tier’s number in `availability_pull.tiers`, from 0 (the nearest days).' }),
    days_from: z.number().int().min(0).openapi({ description: 'Its first day, counted from the local today.' }),
    days_to: z.number().int().min(0).openapi({ description: 'Its last day, counted from the local today.' }),
    interval_minutes: z.number().int(),
    oldest_confirmed_at: isoTime.nullable().openapi({
      description:
        'When the oldest day of the tier’s window (over the active options, each in its product’s time zone) was last confirmed: by the newest pull answer covering it; a day no answer covers counts from when it entered the pull window (or the option’s or integration’s creation, if later). Null: no active option.',
    }),
    age_s: z.number().int().min(0).nullable().openapi({ description: 'Seconds from `oldest_confirmed_at` to this answer. Past twice `interval_minutes`, the tier is behind.' }),
  })
  .openapi('TierFreshness');

const fleetRowSchema = integrationSchema
  .extend({
    freshness: z
      .object({
        last_pull_at: isoTime.nullable().openapi({ description: 'When the last successful scheduled availability pull (of a tier, or of the whole window) finished; null: none yet.' }),
        stale: z.boolean().openapi({
          description:
            'Approved, active, pulls on, and for one of its tiers the last successful pull covering it (or, before the first, the creation) is older than twice that tier’s `interval_minutes`: a pull of that tier was missed.',
        }),
        tiers: z.array(tierFreshnessSchema).openapi({ description: 'Per pull tier: how old the oldest confirmation in its window is (the figure behind `octo_sync_freshness_age_seconds`).' }),
      })
      .openapi({ description: 'How fresh its availability is: when pulls last ran (`last_pull_at`, `stale`), and per tier how old what it shows is (`tiers`).' }),
    // A union, not runSchema.nullable(): that would make the SyncRun component itself nullable (the sync-log's runs too).
    last_run: z.union([runSchema, z.null()]).openapi({ description: 'The newest catalog run, whatever its state (`error_message` is a failed one’s reason); null: none yet.' }),
  })
  .openapi('FleetIntegration');

const backlogSchema = z
  .object({
    waiting: z.number().int().openapi({ description: 'Jobs waiting for a worker (prioritized included), every queue.' }),
    active: z.number().int(),
    delayed: z.number().int(),
  })
  .openapi('QueueBacklog', { description: 'The whole fleet’s queue backlog (jobs carry no per-integration index to count by).' });

function presentTiers(row: FleetRow, now: Date): Array<z.output<typeof tierFreshnessSchema>> {
  const tiers = pullTiersOf(row.integration);
  return tiers.map((t, tier) => {
    const oldest = row.tiers.find((f) => f.tier === tier)?.oldestConfirmedAt ?? null;
    const days = tierDays(tiers, tier)!;
    return {
      tier,
      days_from: days.from,
      days_to: days.to,
      interval_minutes: t.intervalMinutes,
      oldest_confirmed_at: oldest === null ? null : oldest.toISOString(),
      age_s: oldest === null ? null : Math.max(0, Math.floor((now.getTime() - oldest.getTime()) / 1000)),
    };
  });
}

function presentFleetRow(row: FleetRow, now: Date): z.output<typeof fleetRowSchema> {
  return {
    ...presentIntegration(row.integration),
    freshness: { last_pull_at: row.lastPullAt === null ? null : row.lastPullAt.toISOString(), stale: row.stale, tiers: presentTiers(row, now) },
    last_run: row.lastRun === null ? null : presentRun(row.lastRun),
  };
}

function backlogOf(queues: readonly QueueOverview[]): z.output<typeof backlogSchema> {
  const sum = (pick: (q: QueueOverview) => number) => queues.reduce((total, q) => total + pick(q), 0);
  return { waiting: sum((q) => q.counts.waiting + q.counts.prioritized), active: sum((q) => q.counts.active), delayed: sum((q) => q.counts.delayed) };
}

/** `GET /admin`: the fleet as the operator console shows it. */
export function fleetRoute({ db, producer }: { db: Db; producer: JobProducer }): RouteSpec {
  return defineRoute({
    method: 'get',
    path: `${BASE_PATH}/admin`,
    operationId: 'adminListIntegrations',
    summary: 'List live integrations: the fleet with its health, freshness and last run',
    description:
      'Newest first by default, paginated (pageSize ≤ 100) or paged by key (`after`, only with the `sort` that made it), filtered and sorted by state. ' +
      'Beside `data`, `backlog` counts the jobs queued for the whole fleet. Filtering or sorting by `stale` evaluates freshness for every live integration.',
    tags: ['Admin'],
    auth: 'admin',
    query: fleetQuerySchema,
    responses: { 200: { description: 'A page of the fleet.', schema: listEnvelope(fleetRowSchema).extend({ backlog: backlogSchema }) } },
    handler: async ({ query }) => {
      const [page, queues] = await Promise.all([
        db.fleet.list({
          page: query.page,
          pageSize: query.pageSize,
          after: query.after,
          sort: query.sort,
          ...(query.isApproved === undefined ? {} : { isApproved: query.isApproved }),
          ...(query.isActive === undefined ? {} : { isActive: query.isActive }),
          ...(query.sync_status === undefined ? {} : { syncStatus: query.sync_status }),
          ...(query.health_status === undefined ? {} : { healthStatus: query.health_status }),
          ...(query.partner_id === undefined ? {} : { partnerId: query.partner_id }),
          ...(query.stale === undefined ? {} : { stale: query.stale }),
          ...(query.failing === undefined ? {} : { failing: query.failing }),
        }),
        queueOverview(producer, 0),
      ]);
      const now = new Date();
      const reply = listReply(page.items.map((row) => presentFleetRow(row, now)), query, page);
      return { ...reply, body: { ...(reply.body as object), backlog: backlogOf(queues) } };
    },
  });
}

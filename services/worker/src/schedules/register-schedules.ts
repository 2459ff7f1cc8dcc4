import type { Queue } from 'bullmq';
import { availabilityPartitionsJob, availabilityTickJob, catalogNightlyJob, changesPruneJob, healthFanoutJob, historyPruneJob, type JobContract } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';

/** Fixed scheduler ids: every worker upserts the same ones, so replicas never add a second schedule. */
export const NIGHTLY_SCHEDULER_ID = 'catalog-nightly';
export const HEALTH_SCHEDULER_ID = 'health-probe';
export const PULL_SCHEDULER_ID = 'availability-pull';
const CHANGES_PRUNE_SCHEDULER_ID = 'change-feed-prune';
/** Retention is counted in days: pruning every quarter of an hour keeps each batch small. */
const CHANGES_PRUNE_CRON = '*/15 * * * *';
const HISTORY_PRUNE_SCHEDULER_ID = 'history-prune';
/** Run history, alert deliveries and the audit trail: hourly, off the quarter-hours the feed prune takes. */
const HISTORY_PRUNE_CRON = '7 * * * *';
const SLOT_PARTITIONS_SCHEDULER_ID = 'availability-partitions';
/** The slots' partitions: hourly (months are created two years ahead, so a missed tick costs nothing), off the others' minutes. */
const SLOT_PARTITIONS_CRON = '23 * * * *';

export interface ScheduleDefinition {
  id: string;
  pattern: string;
  tz: string;
  /** The fan-out job each tick creates. */
  job: JobContract;
}

export interface ScheduleSettings {
  nightlyCron: string;
  nightlyTz: string;
  healthCron: string;
  healthTz: string;
  /** The availability pull tick (in UTC: it only looks for due integrations). */
  pullCron: string;
}

export function scheduleDefinitions(settings: ScheduleSettings): ScheduleDefinition[] {
  return [
    { id: NIGHTLY_SCHEDULER_ID, pattern: settings.nightlyCron, tz: settings.nightlyTz, job: catalogNightlyJob },
    { id: HEALTH_SCHEDULER_ID, pattern: settings.healthCron, tz: settings.healthTz, job: healthFanoutJob },
    { id: PULL_SCHEDULER_ID, pattern: settings.pullCron, tz: 'UTC', job: availabilityTickJob },
    { id: CHANGES_PRUNE_SCHEDULER_ID, pattern: CHANGES_PRUNE_CRON, tz: 'UTC', job: changesPruneJob },
    { id: HISTORY_PRUNE_SCHEDULER_ID, pattern: HISTORY_PRUNE_CRON, tz: 'UTC', job: historyPruneJob },
    { id: SLOT_PARTITIONS_SCHEDULER_ID, pattern: SLOT_PARTITIONS_CRON, tz: 'UTC', job: availabilityPartitionsJob },
  ];
}

/**
 * Registers the Job Schedulers (never the removed legacy repeat API), idempotently: any number of
 * workers may call it at start-up, concurrently, and there is still one scheduler per id and one
 * job per tick (BullMQ derives the tick's job id from the scheduler id and the tick time).
 *
 * A scheduler already stored with the same definition and a pending next job is left alone rather
 * than upserted again: an upsert replaces the scheduler's next job, and if that job were already
 * due (waiting, not yet taken) at that moment, BullMQ would drop it and schedule the following
 * tick instead, so a worker restarting at the wrong millisecond would make a tick go missing.
 */
export async function registerSchedules(queue: Queue, definitions: readonly ScheduleDefinition[], log: Logger): Promise<Array<{ id: string; action: 'kept' | 'upserted' }>> {
  const outcome: Array<{ id: string; action: 'kept' | 'upserted' }> = [];
  for (const def of definitions) {
    const existing = await queue.getJobScheduler(def.id);
    const sameDefinition =
      existing !== undefined &&
      existing.pattern === def.pattern &&
      (existing.tz ?? 'UTC') === def.tz &&
      existing.name === def.job.name &&
      sameOptions(existing.template?.opts, def.job.options);
    const nextPending = sameDefinition && typeof existing.next === 'number' && (await queue.getJob(`repeat:${def.id}:${existing.next}`)) !== undefined;
    if (sameDefinition && nextPending) {
      outcome.push({ id: def.id, action: 'kept' });
      log.info({ scheduler: def.id, pattern: def.pattern, tz: def.tz, next: new Date(existing.next!).toISOString() }, 'job scheduler already registered');
      continue;
    }
    await queue.upsertJobScheduler(def.id, { pattern: def.pattern, tz: def.tz }, { name: def.job.name, data: {}, opts: def.job.options });
    outcome.push({ id: def.id, action: 'upserted' });
    log.info({ scheduler: def.id, pattern: def.pattern, tz: def.tz }, 'job scheduler registered');
  }
  return outcome;
}

/** Compares the options the contract owns (attempts, backoff, retention) with the stored template's. */
function sameOptions(stored: object | undefined, wanted: object): boolean {
  if (!stored) return false;
  const current = stored as Record<string, unknown>;
  return Object.entries(wanted).every(([key, value]) => stable(current[key]) === stable(value));
}

/** JSON with sorted keys: Redis hands the template back with its keys in another order. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

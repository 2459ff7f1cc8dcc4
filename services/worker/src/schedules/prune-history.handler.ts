import type { Db } from '@octo-sync/db';
import type { JobContext, PayloadOf, historyPruneJob } from '@octo-sync/jobs';

/** How long run history, alert deliveries and the audit trail are kept, and how a tick deletes them. */
export interface HistoryRetentionSettings {
  /** Finished catalog runs (`SYNC_RUN_RETENTION_DAYS`). */
  syncRunDays: number;
  /** Finished availability pulls, the bulk of the runs (`PULL_RUN_RETENTION_DAYS`). */
  pullRunDays: number;
  /** Each integration's newest finished runs of each kind kept whatever their age (`SYNC_RUN_KEEP_NEWEST`). */
  keepNewestRuns: number;
  /** Delivered or failed partner alerts (`ALERT_DELIVERY_RETENTION_DAYS`). */
  alertDeliveryDays: number;
  /** The audit trail (`INTEGRATION_EVENT_RETENTION_DAYS`). */
  integrationEventDays: number;
  /** Rows per statement (`HISTORY_PRUNE_BATCH`). */
  batch: number;
  /** Statements per table per tick: a backlog is worked off over several ticks, never in one long job. */
  maxBatches: number;
}

/** Rows each table lost in one tick. */
export interface HistoryPruned {
  catalogRuns: number;
  pullRuns: number;
  alertDeliveries: number;
  integrationEvents: number;
}

const DAY_MS = 86_400_000;

/** `history.prune`: deletes runs, alert deliveries and audit entries past their retention. */
export function createPruneHistoryHandler({ db, settings, now = () => Date.now() }: { db: Db; settings: HistoryRetentionSettings; now?: () => number }) {
  return async (_payload: PayloadOf<typeof historyPruneJob>, ctx: JobContext): Promise<HistoryPruned> => {
    const daysAgo = (days: number): Date => new Date(now() - days * DAY_MS);
    const budget = { batch: settings.batch, maxBatches: settings.maxBatches };
    const keepNewest = settings.keepNewestRuns;
    const pruned: HistoryPruned = {
      catalogRuns: await db.runs.prune({ kind: 'catalog', before: daysAgo(settings.syncRunDays), keepNewest }, budget),
      pullRuns: await db.runs.prune({ kind: 'availability_pull', before: daysAgo(settings.pullRunDays), keepNewest }, budget),
      alertDeliveries: await db.alerts.prune(daysAgo(settings.alertDeliveryDays), budget),
      integrationEvents: await db.events.prune(daysAgo(settings.integrationEventDays), budget),
    };
    ctx.log.info(pruned, 'history pruned');
    return pruned;
  };
}

import type { Db } from '@octo-sync/db';
import type { JobContext, PayloadOf, changesPruneJob } from '@octo-sync/jobs';

/** How long the change feed keeps events and how a prune tick deletes them. */
export interface ChangeFeedSettings {
  /** Whether catalog runs and slot writes append their changes (`CHANGE_FEED_ENABLED`). */
  enabled: boolean;
  retentionDays: number;
  /** Events pruned per statement: the watermark moves past them (their rows go with their partition). */
  pruneBatch: number;
  /** Statements per tick: a backlog is worked off over several ticks, never in one long job. */
  pruneMaxBatches: number;
}

const DAY_MS = 86_400_000;

/**
 * `changes.prune`: moves the change feed's watermark past the events older than the retention,
 * then keeps its partitions: new ones ahead of the writers, old ones dropped once pruned.
 */
export function createPruneChangesHandler({ db, settings }: { db: Db; settings: ChangeFeedSettings }) {
  return async (_payload: PayloadOf<typeof changesPruneJob>, ctx: JobContext): Promise<{ deleted: number; created: string[]; dropped: string[]; skipped: string[] }> => {
    const before = new Date(Date.now() - settings.retentionDays * DAY_MS);
    const deleted = await db.changes.prune(before, settings.pruneBatch, settings.pruneMaxBatches);
    const partitions = await db.changes.partitions.maintain();
    ctx.log.info({ deleted, before: before.toISOString(), ...partitions }, 'change feed pruned');
    return { deleted, ...partitions };
  };
}

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
 * `changes.prune`: creates the change feed's partitions ahead of the writers first (so a prune
 * that fails still leaves writers their room), moves the watermark past the events older than the
 * retention, then drops the old partitions retention emptied.
 */
export function createPruneChangesHandler({ db, settings }: { db: Db; settings: ChangeFeedSettings }) {
  return async (_payload: PayloadOf<typeof changesPruneJob>, ctx: JobContext): Promise<{ deleted: number; created: string[]; dropped: string[]; skipped: string[] }> => {
    const before = new Date(Date.now() - settings.retentionDays * DAY_MS);
    const ahead = await db.changes.partitions.createAhead();
    const deleted = await db.changes.prune(before, settings.pruneBatch, settings.pruneMaxBatches);
    const retired = await db.changes.partitions.retire();
    const partitions = { created: ahead.created, dropped: retired.dropped, skipped: [...ahead.skipped, ...retired.skipped] };
    ctx.log.info({ deleted, before: before.toISOString(), ...partitions }, 'change feed pruned');
    return { deleted, ...partitions };
  };
}

import type { Db } from '@octo-sync/db';
import type { JobContext, PayloadOf, changesPruneJob } from '@octo-sync/jobs';

/** How long the change feed keeps events and how a prune tick deletes them. */
export interface ChangeFeedSettings {
  /** Whether catalog runs and slot writes append their changes (`CHANGE_FEED_ENABLED`). */
  enabled: boolean;
  retentionDays: number;
  /** Events deleted per statement. */
  pruneBatch: number;
  /** Statements per tick: a backlog is worked off over several ticks, never in one long job. */
  pruneMaxBatches: number;
}

const DAY_MS = 86_400_000;

/** `changes.prune`: deletes change-feed events older than the retention. */
export function createPruneChangesHandler({ db, settings }: { db: Db; settings: ChangeFeedSettings }) {
  return async (_payload: PayloadOf<typeof changesPruneJob>, ctx: JobContext): Promise<{ deleted: number }> => {
    const before = new Date(Date.now() - settings.retentionDays * DAY_MS);
    const deleted = await db.changes.prune(before, settings.pruneBatch, settings.pruneMaxBatches);
    ctx.log.info({ deleted, before: before.toISOString() }, 'change feed pruned');
    return { deleted };
  };
}

import { syncRefusal, type Db } from '@octo-sync/db';
import type { JobContext, PayloadOf, availabilityTickJob } from '@octo-sync/jobs';
import type { PullRequests } from '@octo-sync/runs';

export interface RetentionSettings {
  /** Slots that started more than this many days ago leave the table. */
  days: number;
  /** Slots deleted per statement. */
  batch: number;
  /** Statements per tick at most (the next tick goes on). */
  maxBatches: number;
}

export interface PullTickDeps {
  db: Db;
  pulls: PullRequests;
  retention: RetentionSettings;
}

export interface PullTickResult {
  requested: number;
  pruned: number;
}

const DAY_MS = 24 * 3_600_000;

/**
 * `availability.pull-tick`: requests a scheduled pull for every integration whose interval has
 * passed (not while DOWN: the eligibility rule of scheduled syncs), then prunes past slots in
 * bounded batches. Safe to retry: a pull requested by an earlier attempt makes its integration
 * not due, and pruning twice deletes nothing twice.
 */
export function createPullTickHandler({ db, pulls, retention }: PullTickDeps) {
  return async (_payload: PayloadOf<typeof availabilityTickJob>, ctx: JobContext): Promise<PullTickResult> => {
    const now = new Date();
    const due = (await db.pulls.due(now)).filter((integration) => syncRefusal(integration, 'schedule') === undefined);
    for (const integration of due) await pulls.request(integration, 'schedule');
    const before = new Date(now.getTime() - retention.days * DAY_MS);
    let pruned = 0;
    for (let batch = 0; batch < retention.maxBatches; batch++) {
      const deleted = await db.pulls.prunePast(before, retention.batch);
      pruned += deleted;
      if (deleted < retention.batch) break;
    }
    const result = { requested: due.length, pruned };
    ctx.log.info(result, 'availability pull tick done');
    return result;
  };
}

import { syncRefusal, type Db } from '@octo-sync/db';
import type { JobContext, PayloadOf, availabilityTickJob } from '@octo-sync/jobs';
import type { PullRequests } from '@octo-sync/runs';

export interface PullTickDeps {
  db: Db;
  pulls: PullRequests;
}

export interface PullTickResult {
  requested: number;
}

/**
 * `availability.pull-tick`: requests a scheduled pull for every integration whose interval has
 * passed (not while DOWN: the eligibility rule of scheduled syncs). Safe to retry: a pull
 * requested by an earlier attempt makes its integration not due. Past slots go with their
 * partitions (`availability.partitions`).
 */
export function createPullTickHandler({ db, pulls }: PullTickDeps) {
  return async (_payload: PayloadOf<typeof availabilityTickJob>, ctx: JobContext): Promise<PullTickResult> => {
    const due = (await db.pulls.due(new Date())).filter((integration) => syncRefusal(integration, 'schedule') === undefined);
    for (const integration of due) await pulls.request(integration, 'schedule');
    const result = { requested: due.length };
    ctx.log.info(result, 'availability pull tick done');
    return result;
  };
}

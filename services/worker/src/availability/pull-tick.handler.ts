import type { Db, DueTier } from '@octo-sync/db';
import type { JobContext, PayloadOf, availabilityTickJob } from '@octo-sync/jobs';
import type { PullRequests } from '@octo-sync/runs';

export interface PullTickDeps {
  db: Db;
  pulls: PullRequests;
  /** `SYNC_RUN_ABANDON_MS`: a tier's running pull older than this no longer holds its next one back. */
  abandonAfterMs: number;
  /** Tiers claimed per statement (default {@link TICK_BATCH}). */
  batch?: number;
  /** The tick's clock (tests drive it). */
  now?: () => Date;
}

export interface PullTickResult {
  requested: number;
}

/**
 * `availability.pull-tick`: requests a pull of every tier the pull schedule says is due (of
 * integrations that may pull: not DOWN, the eligibility rule of scheduled syncs), claiming them
 * in batches: a claim moves the tier to its next slot, so ticks in parallel never request one
 * tier twice. A tier whose request failed is given back as it was due, and the tick fails (the
 * queue retries it; a tier's run recorded before its job was added gets its job then). Past slots go with their
 * partitions (`availability.partitions`).
 */
/** Tiers claimed per statement: a few hundred requests between claims keep each claim short. */
const TICK_BATCH = 200;

export function createPullTickHandler({ db, pulls, abandonAfterMs, batch = TICK_BATCH, now = () => new Date() }: PullTickDeps) {
  return async (_payload: PayloadOf<typeof availabilityTickJob>, ctx: JobContext): Promise<PullTickResult> => {
    const at = now();
    let requested = 0;
    for (let due = await db.pullSchedule.claimDue(at, batch); due.length > 0; due = await db.pullSchedule.claimDue(at, batch)) {
      requested += await requestAll(db, pulls, due, abandonAfterMs);
      if (due.length < batch) break;
    }
    const result = { requested };
    ctx.log.info(result, 'availability pull tick done');
    return result;
  };
}

async function requestAll(db: Db, pulls: PullRequests, due: readonly DueTier[], abandonAfterMs: number): Promise<number> {
  let requested = 0;
  for (const [i, tier] of due.entries()) {
    try {
      if (await pulls.requestTier(tier.integration, tier.tier, abandonAfterMs)) requested += 1;
    } catch (error: unknown) {
      await db.pullSchedule.giveBack(due.slice(i));
      throw error;
    }
  }
  return requested;
}

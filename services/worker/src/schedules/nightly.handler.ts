import type { Db } from '@octo-sync/db';
import type { JobContext, PayloadOf, catalogNightlyJob } from '@octo-sync/jobs';
import type { SyncRequests } from '@octo-sync/runs';
import { spreadDelay, tickOf } from './cron';

export interface NightlyDeps {
  db: Db;
  requests: SyncRequests;
  /** Window over which one tick's runs start (0: all at once). */
  spreadMs: number;
}

export interface NightlyResult {
  tick: string;
  eligible: number;
  /** Runs requested by this attempt (new or joined to a queued one). */
  requested: number;
  /** Of `requested`, those that joined a run still queued from before the tick: runs are backing up. */
  joined: number;
  /** Integrations that already had a run requested since the tick (an earlier attempt, a webhook). */
  covered: number;
}

/**
 * Integrations whose runs one statement records (each holds an advisory lock until its batch
 * commits, and Postgres's lock table is sized for about 64 per connection).
 */
const FANOUT_BATCH = 1_000;

/**
 * `catalog.nightly`, one per tick: requests a `schedule` sync for every approved, active, live
 * integration that is not DOWN, spread over the window, in batches of {@link FANOUT_BATCH}: one
 * transaction and one enqueue round trip per batch (see `SyncRequests.requestScheduled`).
 *
 * Safe to retry: an integration with a catalog run queued at or after the tick's time was already
 * requested for this tick (by an earlier attempt, or by a trigger that is just as fresh), so it is
 * not requested again; if that run is still queued its job is enqueued again, which is a no-op
 * when the job exists (the job id is the run id) and repairs an attempt that died between
 * creating the run and enqueueing its job. Runs already queued from before the tick are joined,
 * and a run that is running gets at most one follow-up.
 */
export function createNightlyHandler({ db, requests, spreadMs }: NightlyDeps) {
  return async (_payload: PayloadOf<typeof catalogNightlyJob>, ctx: JobContext): Promise<NightlyResult> => {
    const since = new Date(tickOf(ctx.job));
    const integrations = await db.integrations.scheduleCandidates();
    const position = new Map(integrations.map((integration, index) => [integration.id, index]));
    const delayOf = (id: string) => spreadDelay(position.get(id) ?? 0, integrations.length, spreadMs);
    const result = { tick: since.toISOString(), eligible: integrations.length, requested: 0, joined: 0, covered: 0 };
    for (let from = 0; from < integrations.length; from += FANOUT_BATCH) {
      // Shutting down: stop here; the retry (on this or another worker) picks up where this ended.
      if (ctx.signal?.aborted) throw new Error('nightly fan-out interrupted by shutdown; it will be retried');
      for (const { outcome } of await requests.requestScheduled(integrations.slice(from, from + FANOUT_BATCH), since, delayOf)) {
        if (outcome === 'covered') result.covered++;
        else result.requested++;
        if (outcome === 'joined') result.joined++;
      }
    }
    ctx.log.info({ ...result, spreadMs }, 'nightly fan-out done');
    return result;
  };
}

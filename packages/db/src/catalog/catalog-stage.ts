import { setTimeout as delay } from 'node:timers/promises';
import { AppError } from '@octo-sync/platform';
import type { Pool } from 'pg';
import type { PrismaClient } from '../client';
import { copyText } from '../copy-text';
import type { RunTx } from '../runs/run-fence';
import { STAGED_DIGEST, StageTally } from './catalog-digest';
import type { RowEncoder, SliceRows } from './catalog-encode';
import { laneSource, laneTable, STAGE_COLUMNS, type RowSource } from './catalog-upserts';

/** Which run may write a lane: the run and the fence its claim got. */
export interface StagingRun {
  id: string;
  fence: bigint;
}

/**
 * The lane does not hold the rows this run COPY'd (a lane emptied under it, a crash that emptied
 * the unlogged lanes, a row that reads back other than the run encoded it): the attempt fails and
 * writes nothing; the queue retries it.
 */
class StagingMismatchError extends AppError {
  constructor(expected: StageTally, found: { n: number; digest: string }) {
    const what = found.n === expected.count ? `its ${found.n} rows there have another digest` : `its lane holds ${found.n}`;
    super('STAGING_MISMATCH', `the run staged ${expected.count} catalog rows but ${what}; nothing was written`);
  }
}

/** Every lane stayed held by running runs for all of {@link LANE_WAIT_MS}: the attempt fails before writing and the queue retries it. */
class StagingFullError extends AppError {
  constructor() {
    super('STAGING_FULL', 'every catalog staging lane stayed held by running runs; the run will be retried');
  }
}

/**
 * How long a run waits for a free lane, polling with backoff (a lane frees when its run ends, which
 * nothing announces): more large runs than lanes queue for them instead of failing attempts.
 * Inside SYNC_WRITE_TIMEOUT_MS's default (10 minutes), far beyond a large run's write.
 */
const LANE_WAIT_MS = 300_000;
const FIRST_PAUSE_MS = 50;
const LAST_PAUSE_MS = 2_000;

/**
 * The lease's and the release's transactions: their wait for a pooled connection (runs beyond the
 * pool size queue for one, which can outlast Prisma's 2 s default on a small pool under a large
 * concurrency without anything being wrong), and as long again for the TRUNCATE, which waits for
 * a late COPY into the lane to end.
 */
const LANE_TX_MS = 60_000;
const LANE_TX = { maxWait: LANE_TX_MS, timeout: LANE_TX_MS };

// A lane is free when nobody leased it, or its run no longer runs under the fence it leased it
// with (finished, failed, or taken over): lanes are never leaked, whatever happened to a worker.
const LEASE = `
UPDATE catalog_stage_lanes l SET run_id = $1::uuid, fence = $2::bigint, leased_at = now()
WHERE l.lane = (
  SELECT f.lane FROM catalog_stage_lanes f
  WHERE f.run_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM sync_runs r JOIN integrations i ON i.id = r.integration_id
    WHERE r.id = f.run_id AND r.status = 'running' AND i.sync_fence = f.fence)
  ORDER BY f.leased_at NULLS FIRST, f.lane LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING l.lane`;

const FREE = 'UPDATE catalog_stage_lanes SET run_id = NULL, fence = NULL WHERE lane = $1 AND run_id = $2::uuid AND fence = $3::bigint';

// Counted and digested in one scan of the run's rows.
const TALLY = (table: string) => `SELECT count(*)::int AS n, ${STAGED_DIGEST} AS digest FROM ${table} WHERE run_id = $1::uuid AND fence = $2::bigint`;

/**
 * One large run's rows in its lane of `catalog_stage`: leased and emptied in one transaction
 * before the run COPYs into it, the COPYs on pooled connections and outside any transaction;
 * counted, digested and read by the run's fenced merge; emptied and freed, in one transaction
 * again, when the run is done with it. Emptying is a TRUNCATE of the lane's partition, never a
 * DELETE, and always happens while the lane's row is locked by the one who holds the lane.
 */
export class CatalogStage {
  private readonly tally = new StageTally();

  private constructor(
    private readonly db: { prisma: PrismaClient; pool: Pool },
    private readonly run: StagingRun,
    readonly lane: number,
  ) {}

  /**
   * Leases a free lane for `run` and empties it, waiting up to {@link LANE_WAIT_MS} for one to free
   * (a stalled writer's late rows carry another fence and are never read).
   */
  static async lease(db: { prisma: PrismaClient; pool: Pool }, run: StagingRun): Promise<CatalogStage> {
    const deadline = Date.now() + LANE_WAIT_MS;
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(2 * pause, LAST_PAUSE_MS)) {
      const lane = await leaseEmptied(db.prisma, run);
      if (lane !== undefined) return new CatalogStage(db, run, lane);
      if (Date.now() + pause > deadline) throw new StagingFullError();
      await delay(pause / 2 + Math.random() * (pause / 2));
    }
  }

  /** Where the merge reads the staged rows, and its parameters after the integration id. */
  get source(): { rows: RowSource; params: string[] } {
    return { rows: laneSource(this.lane), params: [this.run.id, this.run.fence.toString()] };
  }

  /** COPYs `slices` into the lane, on a pooled connection of its own, counting and digesting them. */
  async copy(encoder: RowEncoder, slices: readonly SliceRows[]): Promise<void> {
    const prefix = `${this.lane}\t${this.run.id}\t${this.run.fence}\t`;
    const { tally } = this;
    const client = await this.db.pool.connect();
    try {
      // Encoded lazily, a few hundred lines between turns of the event loop (copyText).
      const lines = function* () {
        for (const rows of slices) yield* encoder.lines(prefix, rows, tally);
      };
      await copyText(client, `COPY ${laneTable(this.lane)} (${STAGE_COLUMNS.join(', ')}) FROM STDIN`, lines());
    } finally {
      client.release();
    }
  }

  /** In the fenced transaction, before the merge: the lane holds as many of this run's rows as it COPY'd, with the same digest. */
  async check(tx: RunTx): Promise<void> {
    const { rows } = await tx.query<{ n: number; digest: string }>(TALLY(laneTable(this.lane)), [this.run.id, this.run.fence.toString()]);
    const found = rows[0] ?? { n: 0, digest: '0' };
    if (found.n !== this.tally.count || BigInt(found.digest) !== this.tally.digest) throw new StagingMismatchError(this.tally, found);
  }

  /**
   * Empties the lane and frees it, in one transaction that holds the lane's row meanwhile, so no
   * run leases it before it is empty; a lane this run no longer holds is left alone.
   */
  async release(): Promise<void> {
    await this.db.prisma.$transaction(async (tx) => {
      const freed = await tx.$executeRawUnsafe(FREE, this.lane, this.run.id, this.run.fence.toString());
      if (freed === 1) await tx.$executeRawUnsafe(`TRUNCATE ${laneTable(this.lane)}`);
    }, LANE_TX);
  }
}

/**
 * Leases a free lane and empties it in one transaction that holds the lane's row until both are
 * committed: a lease nobody sees yet cannot be taken over, so no late TRUNCATE of a stalled
 * attempt ever empties a lane another run leased since. `undefined`: every lane is held.
 */
async function leaseEmptied(prisma: PrismaClient, run: StagingRun): Promise<number | undefined> {
  return prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRawUnsafe<Array<{ lane: number }>>(LEASE, run.id, run.fence.toString());
    const lane = rows[0]?.lane;
    if (lane !== undefined) await tx.$executeRawUnsafe(`TRUNCATE ${laneTable(lane)}`);
    return lane;
  }, LANE_TX);
}

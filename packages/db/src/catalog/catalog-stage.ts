import { createHash } from 'node:crypto';
import { AppError } from '@octo-sync/platform';
import type { Pool } from 'pg';
import type { PrismaClient } from '../client';
import { copyText } from '../copy-text';
import type { RunTx } from '../runs/run-fence';
import type { RowEncoder, SliceRows } from './catalog-encode';
import { laneSource, laneTable, STAGE_COLUMNS, STAGE_KIND, type RowSource } from './catalog-upserts';

/** Which run may write a lane: the run and the fence its claim got. */
export interface StagingRun {
  id: string;
  fence: bigint;
}

/**
 * The staged rows are not the rows this run COPY'd (a lane emptied under it, a crash that emptied
 * the unlogged lanes): the attempt fails and writes nothing; the queue retries it.
 */
class StagingMismatchError extends AppError {
  constructor(expected: { count: number; digest: bigint }, found: { n: number; digest: string }) {
    const what = found.n === expected.count ? `its ${found.n} rows there have another digest` : `its lane holds ${found.n}`;
    super('STAGING_MISMATCH', `the run staged ${expected.count} catalog rows but ${what}; nothing was written`);
  }
}

/** Every lane is held by a running run: the attempt fails before writing and the queue retries it. */
class StagingFullError extends AppError {
  constructor() {
    super('STAGING_FULL', 'every catalog staging lane is held by a running run; the run will be retried');
  }
}

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

// The same count and digest the stage keeps while it COPYs: the sum of the first 60 bits of
// md5(kind || hash) over the run's rows (a product's fingerprints go by their tree hash).
const TALLY = (table: string) => `
SELECT count(*)::int AS n,
  COALESCE(sum(('x' || left(md5(kind || CASE kind WHEN 'f' THEN tree_hash ELSE content_hash END), 15))::bit(60)::bigint), 0)::text AS digest
FROM ${table} WHERE run_id = $1::uuid AND fence = $2::bigint`;

/**
 * One large run's rows in its lane of `catalog_stage`: leased and emptied before the run COPYs
 * into it, on pooled connections and outside any transaction; checked (row count and digest) and
 * read by the run's fenced merge; emptied and freed when the run is done with it. Emptying is a
 * TRUNCATE of the lane's partition, never a DELETE.
 */
export class CatalogStage {
  private count = 0;
  private digest = 0n;

  private constructor(
    private readonly db: { prisma: PrismaClient; pool: Pool },
    private readonly run: StagingRun,
    readonly lane: number,
  ) {}

  /** Leases a free lane for `run` and empties it (a stalled writer's late rows carry another fence and are never read). */
  static async lease(db: { prisma: PrismaClient; pool: Pool }, run: StagingRun): Promise<CatalogStage> {
    const { rows } = await db.pool.query<{ lane: number }>(LEASE, [run.id, run.fence.toString()]);
    const lane = rows[0]?.lane;
    if (lane === undefined) throw new StagingFullError();
    await db.pool.query(`TRUNCATE ${laneTable(lane)}`);
    return new CatalogStage(db, run, lane);
  }

  /** Where the merge reads the staged rows, and its parameters after the integration id. */
  get source(): { rows: RowSource; params: string[] } {
    return { rows: laneSource(this.lane), params: [this.run.id, this.run.fence.toString()] };
  }

  /** COPYs `slices` into the lane, on a pooled connection of its own, and adds them to the tally. */
  async copy(encoder: RowEncoder, slices: readonly SliceRows[]): Promise<void> {
    for (const rows of slices) this.tally(rows);
    const prefix = `${this.lane}\t${this.run.id}\t${this.run.fence}\t`;
    const client = await this.db.pool.connect();
    try {
      // Encoded lazily, a few hundred lines between turns of the event loop (copyText).
      const lines = function* () {
        for (const rows of slices) yield* encoder.lines(prefix, rows);
      };
      await copyText(client, `COPY ${laneTable(this.lane)} (${STAGE_COLUMNS.join(', ')}) FROM STDIN`, lines());
    } finally {
      client.release();
    }
  }

  /** In the fenced transaction, before the merge: the lane holds exactly the rows this run COPY'd. */
  async check(tx: RunTx): Promise<void> {
    const { rows } = await tx.query<{ n: number; digest: string }>(TALLY(laneTable(this.lane)), [this.run.id, this.run.fence.toString()]);
    const found = rows[0] ?? { n: 0, digest: '0' };
    if (found.n !== this.count || BigInt(found.digest) !== this.digest) throw new StagingMismatchError({ count: this.count, digest: this.digest }, found);
  }

  /**
   * Empties the lane and frees it, in one transaction that holds the lane's row meanwhile, so no
   * run leases it before it is empty; a lane this run no longer holds is left alone.
   */
  async release(): Promise<void> {
    await this.db.prisma.$transaction(async (tx) => {
      const freed = await tx.$executeRawUnsafe(FREE, this.lane, this.run.id, this.run.fence.toString());
      if (freed === 1) await tx.$executeRawUnsafe(`TRUNCATE ${laneTable(this.lane)}`);
    });
  }

  private tally(rows: SliceRows): void {
    const add = (kind: string, hash: string | null) => {
      this.count += 1;
      this.digest += BigInt(`0x${createHash('md5').update(`${kind}${hash ?? ''}`).digest('hex').slice(0, 15)}`);
    };
    for (const p of rows.products) add(STAGE_KIND.products, p.content_hash);
    for (const f of rows.fingerprints ?? []) add(STAGE_KIND.fingerprints, f.tree_hash);
    for (const o of rows.options) add(STAGE_KIND.options, o.content_hash);
    for (const u of rows.units) add(STAGE_KIND.units, u.content_hash);
  }
}

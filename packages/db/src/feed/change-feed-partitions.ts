import type { Pool, PoolClient } from 'pg';
import { detach, partitionStep, partitionTables, quoted, retireInOrder, type PartitionState, type StepOutcome } from '../partition-steps';

/**
 * Header ids per partition of `change_events` (the migration `change_events_partitions` made the
 * first ones with the same span). Ids and tickets come from one sequence and every append draws
 * two values (the ticket, and the header id's default even when the header already exists), so a
 * partition holds at most 5,000,000 single-append transactions.
 */
const CHANGE_EVENTS_SPAN = 10_000_000n;
/** Partitions kept past the id sequence: writers have at least this many spans of ids before a tick must run. */
const AHEAD = 2n;
/** How long one partition's DDL may wait for a lock before it is left to the next tick. */
const LOCK_TIMEOUT_MS = 5_000;
const PARENT = 'change_events';
const PARTITION_NAME = /^change_events_p(\d+)_(\d+)$/;

/** What a maintenance step did; `skipped`: partitions whose lock was not granted in time (the next tick retries). */
export interface ChangeFeedPartitionWork {
  created: string[];
  dropped: string[];
  skipped: string[];
}

interface Partition {
  name: string;
  from: bigint;
  to: bigint;
  state: PartitionState;
}

// The highest id given so far, and the lowest id of a header still kept (all of them if none is).
const BOUNDS = `
SELECT s.last_value::text AS given, COALESCE((SELECT min(id) FROM change_transactions), s.last_value + 1)::text AS kept
FROM change_transactions_id_seq s`;

// $1 partitions every id of which was given: their horizon is a transaction id taken now (after
// the ids were read), so above that of every writer holding one of their ids (change-outbox.ts
// draws the writer's transaction id before its header id).
const RECORD_HORIZONS = `
INSERT INTO change_feed_partition_horizons (name, xact) SELECT unnest($1::text[]), pg_current_xact_id()
ON CONFLICT (name) DO NOTHING`;

// Partitions whose horizon every running transaction is past: none can hold an id of their range.
const PAST_HORIZON = `SELECT name FROM change_feed_partition_horizons WHERE xact < pg_snapshot_xmin(pg_current_snapshot())`;

/**
 * The partitions of `change_events` by header id (docs/architecture.md, "The change feed's
 * partitions"): created ahead of the id sequence, and each old one dropped once no header of its
 * range is left (retention, ChangeFeedStore.prune, decides) and no open transaction can hold an id
 * of it (its horizon, above). Every step is one of partition-steps.ts: a new partition is a plain
 * table attached with the parent's SHARE UPDATE EXCLUSIVE lock, an old one detached CONCURRENTLY
 * (a pending detach finalized first) and dropped, so readers and writers never queue behind the DDL.
 */
export class ChangeFeedPartitions {
  constructor(private readonly pool: Pool) {}

  /** Creates partitions up to two spans past the ids given; stops at the first whose lock timed out (no gap). */
  async createAhead(): Promise<ChangeFeedPartitionWork> {
    const work: ChangeFeedPartitionWork = { created: [], dropped: [], skipped: [] };
    const { given } = await this.bounds();
    let top = (await this.partitions()).reduce((max, p) => (p.to > max ? p.to : max), 0n);
    const outcome: StepOutcome = { done: work.created, skipped: work.skipped };
    while (top <= given + AHEAD * CHANGE_EVENTS_SPAN) {
      const [from, to] = [top, top + CHANGE_EVENTS_SPAN];
      const ensure = (c: PoolClient) => c.query('SELECT change_events_partition_ensure($1::bigint, $2::bigint)', [from.toString(), to.toString()]);
      if (!(await partitionStep(this.pool, LOCK_TIMEOUT_MS, `change_events_p${from}_${to}`, ensure, outcome))) break;
      top = to;
    }
    return work;
  }

  /**
   * Records the horizon of every partition whose ids were all given, drops those past it with no
   * header left, and attaches back one found detached (or pending) while a header of its range is kept.
   */
  async retire(): Promise<ChangeFeedPartitionWork> {
    const work: ChangeFeedPartitionWork = { created: [], dropped: [], skipped: [] };
    const partitions = await this.partitions();
    const { given, kept } = await this.bounds();
    const exhausted = partitions.filter((p) => p.to <= given + 1n).map((p) => p.name);
    if (exhausted.length > 0) await this.pool.query(RECORD_HORIZONS, [exhausted]);
    const past = new Set((await this.pool.query<{ name: string }>(PAST_HORIZON)).rows.map((r) => r.name));
    // Done: every id given, no header kept, no transaction open that could still add one.
    const done = (p: Partition) => p.to <= kept && past.has(p.name);
    const old = partitions.filter((p) => p.state !== 'attached' || done(p));
    const outcome: StepOutcome = { done: work.dropped, skipped: work.skipped };
    await retireInOrder(old, (a, b) => (a.from < b.from ? -1 : 1), (p) => partitionStep(this.pool, LOCK_TIMEOUT_MS, p.name, (c) => this.retireOne(c, p, done(p)), outcome));
    return work;
  }

  /**
   * Header ids left before a writer would find no partition (the end of the highest attached
   * partition past the ids given; zero: writers fail), and the ids given so far.
   */
  async headroom(): Promise<{ left: number; given: number }> {
    const top = (await this.partitions()).filter((p) => p.state === 'attached').reduce((max, p) => (p.to > max ? p.to : max), 0n);
    const { given } = await this.bounds();
    return { left: Number(top > given ? top - given - 1n : 0n), given: Number(given) };
  }

  /** Detaches `p` (finalizing a pending detach), then drops it if `done`; else attaches it back (false: kept). */
  private async retireOne(c: PoolClient, p: Partition, done: boolean): Promise<boolean> {
    await detach(c, PARENT, p);
    if (!done) {
      await c.query(`ALTER TABLE ${PARENT} ATTACH PARTITION ${quoted(p.name)} FOR VALUES FROM (${p.from}) TO (${p.to})`);
      return false;
    }
    await c.query(`DROP TABLE ${quoted(p.name)}`);
    await c.query('DELETE FROM change_feed_partition_horizons WHERE name = $1', [p.name]);
    return true;
  }

  private async partitions(): Promise<Partition[]> {
    return (await partitionTables(this.pool, PARENT)).flatMap(({ name, state }) => {
      const m = PARTITION_NAME.exec(name);
      return m === null ? [] : [{ name, state, from: BigInt(m[1]!), to: BigInt(m[2]!) }];
    });
  }

  private async bounds(): Promise<{ given: bigint; kept: bigint }> {
    const { rows } = await this.pool.query<{ given: string; kept: string }>(BOUNDS);
    return { given: BigInt(rows[0]!.given), kept: BigInt(rows[0]!.kept) };
  }
}

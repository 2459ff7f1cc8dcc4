import type { Pool, PoolClient } from 'pg';
import { sqlStateOf } from '../sql-errors';

/**
 * Header ids per partition of `change_events` (the migration `change_events_partitions` made the
 * first ones with the same span). Ids and tickets come from one sequence, so a writing transaction
 * uses two values or more: a partition holds a few million transactions.
 */
const CHANGE_EVENTS_SPAN = 10_000_000n;
/** Partitions kept past the id sequence: writers have at least this many spans of ids before a tick must run. */
const AHEAD = 2n;
/** How long one partition's DDL may wait for a lock before it is left to the next tick. */
const LOCK_TIMEOUT_MS = 5_000;
const PARTITION_NAME = /^change_events_p(\d+)_(\d+)$/;
/** `lock_timeout` expired. */
const LOCK_NOT_AVAILABLE = '55P03';

/** What one maintenance pass did; `skipped`: partitions whose lock was not granted in time (the next tick retries). */
export interface ChangeFeedPartitionWork {
  created: string[];
  dropped: string[];
  skipped: string[];
}

interface Partition {
  name: string;
  from: bigint;
  to: bigint;
  /** `attached`, `detaching` (an interrupted DETACH CONCURRENTLY), or `detached` (left before its DROP). */
  state: 'attached' | 'detaching' | 'detached';
}

// Every change_events_p* table: attached (with a pending detach or not) or left detached.
const PARTITIONS = `
SELECT c.relname AS name, CASE WHEN i.inhrelid IS NULL THEN 'detached' WHEN i.inhdetachpending THEN 'detaching' ELSE 'attached' END AS state
FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'change_events'::regclass
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'change\\_events\\_p%'`;

// The highest id given so far, and the lowest id of a header still kept (all of them if none is).
const BOUNDS = `
SELECT s.last_value::text AS given, COALESCE((SELECT min(id) FROM change_transactions), s.last_value + 1)::text AS kept
FROM change_transactions_id_seq s`;

const HEADER_IN = 'SELECT EXISTS (SELECT 1 FROM change_transactions WHERE id >= $1::bigint AND id < $2::bigint) AS any';

/**
 * The partitions of `change_events` by header id (docs/architecture.md, "The change feed's
 * partitions"): created ahead of the id sequence, and each old one dropped once no header of its
 * range is left, which retention (ChangeFeedStore.prune) decides: it deletes a header once the
 * watermark passed its last event. Every step runs on one connection outside any transaction,
 * under `lock_timeout`: a new partition is a plain table attached with the parent's SHARE UPDATE
 * EXCLUSIVE lock, an old one is detached CONCURRENTLY (finalized if a tick was interrupted) and
 * then dropped, so readers and writers never queue behind the DDL.
 */
export class ChangeFeedPartitions {
  constructor(private readonly pool: Pool) {}

  async maintain(): Promise<ChangeFeedPartitionWork> {
    const work: ChangeFeedPartitionWork = { created: [], dropped: [], skipped: [] };
    const partitions = await this.partitions();
    const { given, kept } = await this.bounds();
    let top = partitions.reduce((max, p) => (p.to > max ? p.to : max), 0n);
    while (top <= given + AHEAD * CHANGE_EVENTS_SPAN) {
      const [from, to] = [top, top + CHANGE_EVENTS_SPAN];
      await this.step(work, `change_events_p${from}_${to}`, (c) => c.query('SELECT change_events_partition_ensure($1::bigint, $2::bigint)', [from.toString(), to.toString()]), work.created);
      top = to;
    }
    // A range is done once every id in it was given and no header of it is left: ids only grow,
    // so no header of it can come later, except from a writer still open since before, which the
    // detach waits for (and whose header the check after the detach then sees).
    const done = given < kept ? given + 1n : kept;
    for (const p of partitions.filter((p) => p.to <= done || p.state !== 'attached')) {
      await this.step(work, p.name, (c) => this.retire(c, p), work.dropped);
    }
    return work;
  }

  /**
   * Header ids left before a writer would find no partition: the end of the highest attached
   * partition past the ids given so far (the maintenance keeps it above one span; zero: writers fail).
   */
  async headroom(): Promise<number> {
    const top = (await this.partitions()).filter((p) => p.state === 'attached').reduce((max, p) => (p.to > max ? p.to : max), 0n);
    const { given } = await this.bounds();
    return Number(top > given ? top - given - 1n : 0n);
  }

  /** Detaches `p` (unless it already is), then drops it, or attaches it back if a header of its range appeared meanwhile. */
  private async retire(c: PoolClient, p: Partition): Promise<void> {
    if (p.state !== 'detached') await c.query(`ALTER TABLE change_events DETACH PARTITION ${quoted(p.name)} ${p.state === 'detaching' ? 'FINALIZE' : 'CONCURRENTLY'}`);
    const { rows } = await c.query<{ any: boolean }>(HEADER_IN, [p.from.toString(), p.to.toString()]);
    if (rows[0]?.any) {
      await c.query(`ALTER TABLE change_events ATTACH PARTITION ${quoted(p.name)} FOR VALUES FROM (${p.from}) TO (${p.to})`);
      throw new StillInUse();
    }
    await c.query(`DROP TABLE ${quoted(p.name)}`);
  }

  private async partitions(): Promise<Partition[]> {
    const { rows } = await this.pool.query<{ name: string; state: Partition['state'] }>(PARTITIONS);
    return rows.flatMap(({ name, state }) => {
      const m = PARTITION_NAME.exec(name);
      return m === null ? [] : [{ name, state, from: BigInt(m[1]!), to: BigInt(m[2]!) }];
    });
  }

  private async bounds(): Promise<{ given: bigint; kept: bigint }> {
    const { rows } = await this.pool.query<{ given: string; kept: string }>(BOUNDS);
    return { given: BigInt(rows[0]!.given), kept: BigInt(rows[0]!.kept) };
  }

  /** One DDL step on its own connection, outside any transaction (DETACH CONCURRENTLY needs that), under lock_timeout. */
  private async step(work: ChangeFeedPartitionWork, what: string, ddl: (c: PoolClient) => Promise<unknown>, done: string[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query(`SET lock_timeout = ${LOCK_TIMEOUT_MS}`);
      await ddl(client);
      done.push(what);
    } catch (err) {
      if (!(err instanceof StillInUse) && sqlStateOf(err) !== LOCK_NOT_AVAILABLE) throw err;
      work.skipped.push(what);
    } finally {
      await client.query('RESET lock_timeout').finally(() => client.release());
    }
  }
}

/** A partition whose range got a header while it was being detached: attached back, kept. */
class StillInUse extends Error {}

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

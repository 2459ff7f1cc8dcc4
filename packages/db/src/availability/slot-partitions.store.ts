import type { Pool, PoolClient } from 'pg';
import { detach, partitionStep, partitionTables, quoted, retireInOrder, type PartitionTable } from '../partition-steps';
import { sqlStateOf } from '../sql-errors';

/** How the slots' partitions are kept (the worker's `availability.partitions` settings). */
export interface SlotPartitionSettings {
  /** `AVAILABILITY_RETENTION_DAYS`: a month goes once every start it can hold is older than this many days. */
  retentionDays: number;
  /** How long a partition's DDL may wait for a lock before it gives up until the next tick (`lock_timeout`). */
  lockTimeoutMs: number;
  /** Undated slots deleted per statement, and statements per tick at most. */
  undatedBatch: number;
  undatedMaxBatches: number;
}

/** What one maintenance pass did; `skipped`: partitions whose lock was not granted in time (the next tick retries). */
export interface SlotPartitionWork {
  created: string[];
  dropped: string[];
  skipped: string[];
  undatedPruned: number;
  /** Months with a partition after the pass, from today's on. */
  monthsAhead: number;
}

/** The months the attached partitions cover, from the current one. */
export interface SlotPartitionCoverage {
  /** Consecutive months from the current one with an attached partition (26 when all is well). */
  monthsAhead: number;
  /** Months from the current one to that of the latest start the gateway accepts without an attached partition: a change starting there fails (and is retried) until one exists. */
  acceptedMonthsMissing: number;
}

function coverageOf(partitions: ReadonlyMap<string, { state: string }>, now: Date, latestStart: Date): SlotPartitionCoverage {
  const attached = (month: string) => partitions.get(month)?.state === 'attached';
  let monthsAhead = 0;
  while (attached(monthOf(now, monthsAhead))) monthsAhead++;
  let acceptedMonthsMissing = 0;
  for (let i = 0; monthOf(now, i) <= monthOf(latestStart); i++) if (!attached(monthOf(now, i))) acceptedMonthsMissing++;
  return { monthsAhead, acceptedMonthsMissing };
}

const DAY_MS = 86_400_000;
/** How far ahead the gateway accepts a start (slot-times.ts: today + 2 years, plus a day per zone), with a month to spare. */
const AHEAD_MONTHS = 25;
const PARTITION_NAME = /^availability_slots_p(\d{4})(\d{2})$/;

/** `YYYY-MM-01` of the UTC month `offset` months after `at`'s. */
function monthOf(at: Date, offset = 0): string {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1)).toISOString().slice(0, 10);
}

/**
 * The partitions of `availability_slots` (docs/architecture.md, "Slots are partitioned by
 * month"): one per month, from the month of today − retention (a day more for any time zone) to
 * two years and a month ahead, so every start the gateway accepts has its partition; older months
 * go whole. Each step holds its locks briefly and only under `lock_timeout`: a new month is created
 * as a plain table and then attached (SHARE UPDATE EXCLUSIVE on the parent; ACCESS EXCLUSIVE on
 * `integrations`, whose foreign key each partition clones: readers of integrations, slot writes'
 * key checks included, wait for the moment it takes), an old one detached CONCURRENTLY (finalized
 * if an earlier pass was interrupted) and then dropped (ACCESS EXCLUSIVE on `integrations` too).
 * Undated slots live in their own partition and go by `updated_at`, in bounded batches.
 */
export class SlotPartitionStore {
  constructor(private readonly pool: Pool) {}

  async maintain(settings: SlotPartitionSettings, now: Date): Promise<SlotPartitionWork> {
    const work: SlotPartitionWork = { created: [], dropped: [], skipped: [], undatedPruned: 0, monthsAhead: 0 };
    // The earliest start accepted is today − retention − 1 day (UTC), whose local date may be a day earlier.
    const earliest = new Date(now.getTime() - (settings.retentionDays + 2) * DAY_MS);
    const oldest = monthOf(earliest);
    const existing = await this.partitions();
    for (let i = 0, month = oldest; month <= monthOf(now, AHEAD_MONTHS); month = monthOf(earliest, ++i)) {
      if (existing.has(month)) continue;
      await partitionStep(this.pool, settings.lockTimeoutMs, month, (c) => ensureMonth(c, month), { done: work.created, skipped: work.skipped });
    }
    // partition-steps.ts: a half-detached partition first, and the pass stops at a step that timed out.
    const old = [...existing].filter(([month]) => month < oldest).map(([month, p]) => ({ ...p, month }));
    await retireInOrder(old, (a, b) => a.month.localeCompare(b.month), (p) =>
      partitionStep(this.pool, settings.lockTimeoutMs, p.name, (c) => goneAlready(async () => {
        await detach(c, 'availability_slots', p);
        await c.query(`DROP TABLE ${quoted(p.name)}`);
      }), { done: work.dropped, skipped: work.skipped }));
    const after = await this.partitions();
    // The ids of the months gone (below every month that still has a table, dropped or not yet),
    // all of them, a short statement per batch: a write of such a slot would name its dropped month.
    await this.pruneDroppedIds(settings, [...after.keys(), oldest].reduce((a, b) => (a < b ? a : b)));
    work.undatedPruned = await this.pruneUndated(settings, now);
    work.monthsAhead = coverageOf(after, now, now).monthsAhead;
    return work;
  }

  /**
   * What the attached partitions cover now, read from the catalog (pg_inherits), whoever ran the
   * last pass and whether it ended: the metrics sampler's source. `latestStart`: the latest start
   * the gateway accepts (slotTimeBounds).
   */
  async coverage(now: Date, latestStart: Date): Promise<SlotPartitionCoverage> {
    return coverageOf(await this.partitions(), now, latestStart);
  }

  /**
   * The dated partitions' tables by month (`YYYY-MM-01`): attached, left half-detached by an
   * interrupted concurrent detach, or detached and not yet dropped (a pass stopped between the two).
   */
  async partitions(): Promise<Map<string, PartitionTable>> {
    const rows = await partitionTables(this.pool, 'availability_slots');
    const months = new Map<string, PartitionTable>();
    for (const row of rows) {
      const m = PARTITION_NAME.exec(row.name);
      if (m !== null) months.set(`${m[1]}-${m[2]}-01`, row);
    }
    return months;
  }

  /**
   * Undated slots not written within the retention, with their ids, in bounded batches. Each batch
   * is a transaction that locks the candidates' slot_ids rows first, as every writer does
   * (slot-placement.ts), and then, in a snapshot taken after those locks, deletes the rows still
   * undated and still old and their ids: a writer that got there first keeps its slot.
   */
  private async pruneUndated(settings: SlotPartitionSettings, now: Date): Promise<number> {
    const before = new Date(now.getTime() - settings.retentionDays * DAY_MS);
    let pruned = 0;
    for (let batch = 0; batch < settings.undatedMaxBatches; batch++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query(LOCK_UNDATED, [before, settings.undatedBatch]);
        const { rowCount } = await client.query(PRUNE_UNDATED, [before, JSON.stringify(rows)]);
        await client.query('COMMIT');
        pruned += rowCount ?? 0;
        if (rows.length < settings.undatedBatch) break;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    }
    return pruned;
  }

  /**
   * Deletes the ids below `oldestMonth`, a batch a statement, until none is left: not capped per
   * pass as the undated slots are, since an id left of a dropped month sends a later write of its
   * slot to a month without a partition (that change fails and is retried until the id goes).
   * Narrow rows by an index range, once a month (not measured at a month of millions of slots).
   */
  private async pruneDroppedIds(settings: SlotPartitionSettings, oldestMonth: string): Promise<void> {
    for (;;) {
      const { rowCount } = await this.pool.query(PRUNE_DROPPED_IDS, [oldestMonth, settings.undatedBatch]);
      if ((rowCount ?? 0) < settings.undatedBatch) return;
    }
  }
}

/**
 * Creates and attaches `month`'s partition. Two passes at once (two workers' ticks) may both find
 * it missing: slot_partition_ensure's to_regclass takes no lock, so the later CREATE TABLE waits
 * for the earlier pass's and then fails on the catalog's unique names (duplicate_table, or a
 * unique violation of pg_type's or pg_class's name index), and the month is there: done.
 */
async function ensureMonth(c: PoolClient, month: string): Promise<void> {
  try {
    await c.query("SELECT slot_partition_ensure('availability_slots', $1::date)", [month]);
  } catch (err) {
    const state = sqlStateOf(err);
    const constraint = (err as { constraint?: unknown }).constraint;
    if (state !== '42P07' && !(state === '23505' && typeof constraint === 'string' && constraint.startsWith('pg_'))) throw err;
  }
}

/** Runs a drop step; a table another pass dropped meanwhile (undefined_table) is gone: done. */
async function goneAlready(drop: () => Promise<void>): Promise<void> {
  try {
    await drop();
  } catch (err) {
    if (sqlStateOf(err) !== '42P01') throw err;
  }
}

// The ids of undated slots (slot_date 'infinity': the undated partition alone) not written within
// the retention, locked; ids another transaction holds are skipped (a writer holds its slots' ids:
// the pruner never waits on one, so it cannot deadlock with writers that lock in their own order).
const LOCK_UNDATED = `
SELECT i.integration_id, i.option_key::text AS option_key, i.availability_id FROM slot_ids i
JOIN availability_slots s ON s.integration_id = i.integration_id AND s.option_key = i.option_key
  AND s.availability_id = i.availability_id AND s.slot_date = 'infinity'
WHERE i.slot_date = 'infinity' AND s.updated_at < $1 LIMIT $2 FOR UPDATE OF i SKIP LOCKED`;

// The locked candidates ($2) still undated and old in a snapshot taken after the locks, with their ids.
const PRUNE_UNDATED = `
WITH k AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS k(integration_id uuid, option_key bigint, availability_id text)),
gone AS (
  DELETE FROM availability_slots s USING k WHERE s.integration_id = k.integration_id AND s.option_key = k.option_key
    AND s.availability_id = k.availability_id AND s.slot_date = 'infinity' AND s.updated_at < $1
  RETURNING s.integration_id, s.option_key, s.availability_id
)
DELETE FROM slot_ids i USING gone g WHERE i.integration_id = g.integration_id AND i.option_key = g.option_key
  AND i.availability_id = g.availability_id AND i.slot_date = 'infinity'`;

// Ids of slots in months whose partitions are gone ($1: the oldest month with a table), a batch ($2) at a time.
const PRUNE_DROPPED_IDS = `
DELETE FROM slot_ids WHERE ctid = ANY(ARRAY(SELECT ctid FROM slot_ids WHERE slot_date < $1::date LIMIT $2))`;

import type { Readable } from 'node:stream';
import type { Pool } from 'pg';
import type { PrismaClient } from '../generated/prisma/client';
import { ChangeConsumerStore } from './change-consumers.store';
import { exportSnapshot } from './change-export';
import { ChangeFeedPartitions } from './change-feed-partitions';
import type { ChangeType } from './change-outbox';
import { SEQUENCE_BATCH, sequenceChanges } from './change-sequencer';

/** One event of the change feed as read back. */
export interface ChangeEvent {
  /** Its position: the cursor that comes after it. */
  position: string;
  integrationId: string;
  type: ChangeType;
  productOctoId: string;
  optionOctoId: string | null;
  unitOctoId: string | null;
  availabilityId: string | null;
  contentHash: string;
  /** The stable key of the product the event names (null: a product never stored, or an event written before keys existed). */
  key: string | null;
  /** `product.remapped`: the supplier id the product had before (`productOctoId` is its new one). */
  previousOctoId: string | null;
  /** The locale of a content change in one of the integration's other locales; null for the catalog rows' own events. */
  locale: string | null;
  at: Date;
}

/**
 * A page of the feed, or the news that the cursor points before what retention kept, or past the
 * newest position the feed ever had (a cursor this feed never returned: corrupted, or from
 * another database).
 */
export type ChangePage =
  | { kind: 'page'; events: ChangeEvent[]; next: string }
  | { kind: 'expired'; prunedThrough: string }
  | { kind: 'ahead'; newest: string };

// $1 the cursor (null: from the oldest kept), $2 the limit. One statement, so the watermark, the
// newest position and the events are read from one snapshot (a prune between two reads could
// skip events unseen). Only sequenced headers have positions; a header's events follow its first
// position in index order, so a page needs at most the next $2 indexes of each header (a bounded
// range, whatever plan the statistics of a fresh table lead to). The newest position is the last one the sequencer gave, or the
// watermark if that is later.
const READ_EVENTS = `
SELECT s.pruned_through::text AS "prunedThrough", s.newest::text AS newest, e.position::text AS position,
  e.integration_id::text AS "integrationId", e.type, e.product_octo_id AS "productOctoId", e.option_octo_id AS "optionOctoId",
  e.unit_octo_id AS "unitOctoId", e.availability_id AS "availabilityId", e.content_hash AS "contentHash", e.key,
  e.previous_octo_id AS "previousOctoId", e.locale, e.at
FROM (SELECT w.pruned_through, GREATEST(w.pruned_through, COALESCE((SELECT sequenced_through FROM change_feed_sequencer WHERE id = 1), 0)) AS newest
  FROM (SELECT COALESCE((SELECT pruned_through FROM change_feed_state WHERE id = 1), 0) AS pruned_through) w) s
LEFT JOIN LATERAL (
  SELECT t.first_position + ev.idx AS position, ev.integration_id, ev.type, ev.product_octo_id, ev.option_octo_id, ev.unit_octo_id,
    ev.availability_id, ev.content_hash, ev.key, ev.previous_octo_id, ev.locale, ev.at
  FROM (SELECT id, first_position, last_position FROM change_transactions
    WHERE last_position > GREATEST($1::bigint, s.pruned_through) ORDER BY last_position) t
  CROSS JOIN LATERAL (
    SELECT * FROM change_events e, LATERAL (SELECT GREATEST(GREATEST($1::bigint, s.pruned_through) - t.first_position + 1, 0) AS lo) r
    WHERE e.txn_id = t.id AND e.idx BETWEEN r.lo AND r.lo + $2 - 1
    ORDER BY e.idx
  ) ev
  ORDER BY t.last_position, ev.idx LIMIT $2
) e ON true
ORDER BY e.position`;

// $1 cutoff, $2 batch size. Retention prunes the leading run of old headers in position order:
// `run` walks from the watermark (its seed row) one header at a time, each found by one probe of
// the unique index on `last_position`, and ends at the first header that is not old (its `at`,
// when it was numbered, not before $1) or once it covers $2 events. So a tick reads the old prefix
// and one header more, never the retained feed behind it, and the watermark never passes a header
// still inside retention. (The events' own `at` is their transaction's start: a long transaction
// numbered after younger ones has older events, and would be pruned ahead of them.) Each header
// gives `take` events from index `lo` (past the watermark if it cut the header); the watermark
// moves past them and the headers this batch finished are deleted, in one statement. The events
// themselves are never deleted row by row: they go with their partition, once none of its headers
// is left (change-feed-partitions.ts), and no read reaches them before (reads go by header, past
// the watermark).
const PRUNE_BATCH = `
WITH RECURSIVE run AS (
  SELECT NULL::tid AS header, NULL::bigint AS first_position, w.through AS last_position, 0::bigint AS lo, 0::bigint AS take, 0::bigint AS done
  FROM (SELECT COALESCE((SELECT pruned_through FROM change_feed_state WHERE id = 1), 0) AS through) w
  UNION ALL
  SELECT h.ctid, h.first_position, h.last_position, h.lo, k.take, r.done + k.take
  FROM run r
  CROSS JOIN LATERAL (SELECT ctid, first_position, last_position, at, GREATEST(r.last_position - first_position + 1, 0) AS lo
    FROM change_transactions WHERE last_position > r.last_position ORDER BY last_position LIMIT 1) h
  CROSS JOIN LATERAL (SELECT LEAST(h.last_position - h.first_position + 1 - h.lo, $2 - r.done) AS take) k
  WHERE h.at < $1 AND r.done < $2
), finished AS (
  DELETE FROM change_transactions WHERE ctid = ANY (ARRAY(SELECT header FROM run WHERE lo + take = last_position - first_position + 1))
), mark AS (
  INSERT INTO change_feed_state AS s (id, pruned_through)
  SELECT 1, max(first_position + lo + take - 1) FROM run WHERE header IS NOT NULL HAVING count(*) > 0
  ON CONFLICT (id) DO UPDATE SET pruned_through = GREATEST(s.pruned_through, excluded.pruned_through)
)
SELECT COALESCE(sum(take), 0)::int AS deleted FROM run`;

/**
 * Reading and pruning the change feed. Positions are given by the sequencer (change-sequencer.ts)
 * to committed transactions only, each range past every earlier one, so "every event after my
 * cursor" never skips an event committed later: a reader runs the sequencer before it reads, so it
 * sees every event committed before its read.
 */
export class ChangeFeedStore {
  /** The partitions of `change_events`: created ahead, dropped once retention left none of their headers. */
  readonly partitions: ChangeFeedPartitions;
  /** Registered consumers: their server-side cursors and their lag. */
  readonly consumers: ChangeConsumerStore;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
  ) {
    this.partitions = new ChangeFeedPartitions(pool);
    this.consumers = new ChangeConsumerStore(prisma);
  }

  /**
   * Up to `limit` events after `after` (a position; null: from the oldest kept). `expired` when
   * retention already removed events the cursor had not read; `ahead` when the cursor is past the
   * newest position (equal to it is fine: nothing new yet).
   */
  async read(after: bigint | null, limit: number): Promise<ChangePage> {
    await sequenceChanges(this.prisma);
    type Row = { prunedThrough: string; newest: string } & ({ [K in keyof ChangeEvent]: ChangeEvent[K] } | { [K in keyof ChangeEvent]: null });
    const rows = await this.prisma.$queryRawUnsafe<Row[]>(READ_EVENTS, after?.toString() ?? null, limit);
    const prunedThrough = rows[0]?.prunedThrough ?? '0';
    const newest = rows[0]?.newest ?? prunedThrough;
    if (after !== null && after < BigInt(prunedThrough)) return { kind: 'expired', prunedThrough };
    if (after !== null && after > BigInt(newest)) return { kind: 'ahead', newest };
    const events = rows.filter((row): row is Row & ChangeEvent => row.position !== null).map(({ prunedThrough: _watermark, newest: _newest, ...event }) => event);
    return { kind: 'page', events, next: events.at(-1)?.position ?? (after === null ? prunedThrough : after.toString()) };
  }

  /**
   * Numbers every pending transaction first (so a feed nobody reads has a backlog of at most one
   * tick), then prunes the events of transactions numbered before `before` (the watermark moves
   * past them; their rows go with their partition), oldest position first and only up to the
   * first transaction numbered since, at most `batch` per statement, until none is left or
   * `maxBatches` statements ran; returns how many it pruned.
   */
  async prune(before: Date, batch: number, maxBatches: number): Promise<number> {
    while ((await sequenceChanges(this.prisma)) === SEQUENCE_BATCH);
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const deleted = (await this.prisma.$queryRawUnsafe<Array<{ deleted: number }>>(PRUNE_BATCH, before, batch))[0]?.deleted ?? 0;
      total += deleted;
      if (deleted < batch) break;
    }
    return total;
  }

  /**
   * The current catalog and slot state of one integration (null: of all) as NDJSON lines, each
   * tagged with the position to resume the feed from (change-export.ts); numbers what is pending
   * first, so the position is as recent as it can be.
   */
  async export(integrationId: string | null): Promise<Readable> {
    await sequenceChanges(this.prisma);
    return exportSnapshot(this.pool, integrationId);
  }
}

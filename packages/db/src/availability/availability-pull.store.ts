import type { Pool, PoolClient } from 'pg';
import type { SlotRow } from './availability.store';
import type { PrismaClient } from '../client';
import type { Integration } from '../generated/prisma/client';
import { appendChanges, slotEvents, WRITTEN_SLOT_SQL, type WrittenSlot } from '../feed/change-outbox';
import { slotLockOrder, snapshotIsNewer } from './slot-order';

/** One (product, option) a pull asks for, with the product's time zone (null: not sent). */
export interface PullTarget {
  productId: string;
  optionId: string;
  timeZone: string | null;
}

/** One slot of a pull snapshot, ready for the database: a slot row without the push's keys. */
export type SnapshotSlot = Pick<SlotRow, 'availability_id' | 'local_date_time_start' | 'starts_at' | 'status' | 'vacancies' | 'capacity' | 'raw'>;

/** The answer of one `POST /availability` for one option over a window of local dates. */
export interface OptionSnapshot {
  productId: string;
  optionId: string;
  /** Local dates, `YYYY-MM-DD`, both included. */
  from: string;
  to: string;
  /** The receive key of the answer (µs since 1970 × 1000): it orders the snapshot against pushes. */
  answerKey: bigint;
  slots: readonly SnapshotSlot[];
  /** Ids the answer listed but the pull does not take (their raw cannot be kept as sent): neither written nor closed. */
  held?: readonly string[];
}

/** What reconciling snapshots did to the stored slots. */
export interface SlotCounts {
  created: number;
  updated: number;
  /** Listed and stored as listed already, or refused because a newer push holds the slot. */
  unchanged: number;
  closed: number;
}

/** `availability_pull` settings of an integration. */
export interface PullSettings {
  enabled: boolean;
  daysAhead: number;
  intervalMinutes: number;
}

/** Reads the pull settings off an integration row. */
export function pullSettingsOf(integration: Pick<Integration, 'availabilityPullEnabled' | 'availabilityPullDaysAhead' | 'availabilityPullIntervalMinutes'>): PullSettings {
  return { enabled: integration.availabilityPullEnabled, daysAhead: integration.availabilityPullDaysAhead, intervalMinutes: integration.availabilityPullIntervalMinutes };
}

/**
 * Availability pulls: what to ask for, reconciling a snapshot with the stored slots, which
 * integrations are due, and pruning past slots. A snapshot orders against pushes on the receive
 * time line: it applies to a slot only if no push received after its answer (nor a newer
 * snapshot) was applied, and it writes only slots whose content differs; its answer key and
 * window are kept per option (`availability_pull_marks`) so that a push received before it and
 * applied after it is refused for every slot of the window, written or not.
 */
export class AvailabilityPullStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
  ) {}

  /** The active products and options of an integration, optionally one product or option. */
  async targets(integrationId: string, only: { productId?: string; optionId?: string } = {}): Promise<PullTarget[]> {
    const { rows } = await this.pool.query<PullTarget>(PULL_TARGETS, [integrationId, only.productId ?? null, only.optionId ?? null]);
    return rows;
  }

  /**
   * Upserts what each snapshot of `integrationId` lists and closes the stored slots of its window
   * it no longer lists, on `client` (the run's fenced transaction: see `SyncRunStore.withFence`).
   * Many options' answers (one snapshot per option) go in one slot statement, so a pull costs a few
   * transactions, not one per option, and each locks its slots in the one lock order
   * (`slot-order.ts`). Returns each snapshot's counts, in order.
   */
  async reconcile(client: PoolClient, integrationId: string, snapshots: readonly OptionSnapshot[]): Promise<SlotCounts[]> {
    const windows = snapshots.map((s) => ({ ...scopeOf(s), date_from: s.from, date_to: s.to, listed: [...s.slots.map((slot) => slot.availability_id), ...(s.held ?? [])] }));
    const answers = snapshots.map((s, i) => ({ ...windows[i]!, slots: s.slots }));
    const rows = (await client.query<ReconciledSlot>(RECONCILE_SNAPSHOT, [integrationId, JSON.stringify(answers)])).rows;
    const written = rows.filter((row) => !row.closed);
    const closed = rows.filter((row) => row.closed);
    await client.query(MARK_ANSWERED, [integrationId, JSON.stringify(windows)]);
    // Last in the transaction, as the outbox requires: every slot whose content changed is an event.
    await appendChanges((sql, values) => client.query(sql, values), slotEvents([...written, ...closed]));
    return countsPerSnapshot(snapshots, written, closed);
  }

  /**
   * Integrations with pulls enabled whose last whole pull was requested longer ago than their
   * interval: a refresh narrowed to a product, option or dates does not make the rest fresh.
   */
  async due(now: Date): Promise<Integration[]> {
    const rows = await this.pool.query<{ id: string }>(DUE_FOR_PULL, [now]);
    if (rows.rows.length === 0) return [];
    return this.prisma.integration.findMany({ where: { id: { in: rows.rows.map((r) => r.id) } } });
  }

  /** Deletes at most `limit` slots that started before `before`; returns how many. */
  async prunePast(before: Date, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query(PRUNE_PAST, [before, limit]);
    return rowCount ?? 0;
  }
}

/** A slot the snapshot statement wrote: listed (new or changed), or closed because no longer listed. */
type ReconciledSlot = WrittenSlot & { created: boolean; closed: boolean };

const optionKey = (productId: string, optionId: string): string => `${productId}\u0000${optionId}`;
const scopeOf = (s: OptionSnapshot) => ({ product_octo_id: s.productId, option_octo_id: s.optionId, answer_key: s.answerKey.toString() });

function countsPerSnapshot(snapshots: readonly OptionSnapshot[], written: ReadonlyArray<WrittenSlot & { created: boolean }>, closed: readonly WrittenSlot[]): SlotCounts[] {
  const counts = new Map(snapshots.map((s) => [optionKey(s.productId, s.optionId), { created: 0, updated: 0, unchanged: s.slots.length, closed: 0 }]));
  for (const w of written) {
    const c = counts.get(optionKey(w.product_octo_id, w.option_octo_id))!;
    c[w.created ? 'created' : 'updated'] += 1;
    c.unchanged -= 1;
  }
  for (const w of closed) counts.get(optionKey(w.product_octo_id, w.option_octo_id))!.closed += 1;
  return snapshots.map((s) => counts.get(optionKey(s.productId, s.optionId))!);
}

const PULL_TARGETS = `
SELECT p.octo_id AS "productId", o.octo_id AS "optionId", p.time_zone AS "timeZone"
FROM products p JOIN product_options o ON o.product_id = p.id
WHERE p.integration_id = $1::uuid AND p.active AND o.active
  AND ($2::text IS NULL OR p.octo_id = $2) AND ($3::text IS NULL OR o.octo_id = $3)
ORDER BY p.octo_id, o.octo_id`;

// $1 integration, $2 the snapshots: [{product_octo_id, option_octo_id, answer_key, date_from, date_to,
// listed, slots: [...]}]; a window is of local dates (the local start's date part, as the supplier
// wrote it). One statement writes both kinds of row, so they are locked in the one lock order
// (slot-order.ts), never the listed ones first and the closed ones after:
// - listed slots, written only when no newer push or snapshot holds them and their content differs
//   from the stored one. The first branch leaves out, before the insert, the listed slots stored as
//   listed already, so a pull that finds nothing new neither writes nor locks a row: per option,
//   one range scan of the unique index hashed against the listed slots (OFFSET 0 keeps the scan
//   whole: half the cost of one index probe per listed slot);
// - open stored slots of the window the answer no longer lists, closed (removed_at set) with their
//   content kept as it is once locked. They exist (pruning takes slots older than any window).
// The conflict clause checks again on the row as it is once locked (a push may have written it).
const RECONCILE_SNAPSHOT = `
WITH s AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS s(product_octo_id text, option_octo_id text, answer_key bigint,
    date_from text, date_to text, listed text[], slots jsonb)
), w AS (
  SELECT $1::uuid AS integration_id, s.product_octo_id, s.option_octo_id, r.availability_id, r.local_date_time_start, r.starts_at,
    r.status, r.vacancies, r.capacity, r.raw, s.answer_key, NULL::timestamptz AS removed_at
  FROM s CROSS JOIN LATERAL (
    SELECT r.*, c.id IS NULL OR (c.local_date_time_start, c.status, c.vacancies, c.capacity, c.raw, c.removed_at)
      IS DISTINCT FROM (r.local_date_time_start, r.status, r.vacancies, r.capacity, r.raw, NULL::timestamptz) AS differs
    FROM jsonb_to_recordset(s.slots) AS r(availability_id text, local_date_time_start text, starts_at timestamptz,
      status text, vacancies integer, capacity integer, raw jsonb)
    LEFT JOIN (SELECT * FROM availability_slots c WHERE c.integration_id = $1::uuid AND c.product_octo_id = s.product_octo_id
      AND c.option_octo_id = s.option_octo_id OFFSET 0) c ON c.availability_id = r.availability_id) r
  WHERE r.differs
  UNION ALL
  SELECT c.integration_id, c.product_octo_id, c.option_octo_id, c.availability_id, c.local_date_time_start, c.starts_at,
    'CLOSED', c.vacancies, c.capacity, c.raw, s.answer_key, now()
  FROM s JOIN availability_slots c ON c.integration_id = $1::uuid AND c.product_octo_id = s.product_octo_id AND c.option_octo_id = s.option_octo_id
  WHERE c.removed_at IS NULL AND left(c.local_date_time_start, 10) BETWEEN s.date_from AND s.date_to
    AND NOT (c.availability_id = ANY(s.listed)) AND ${snapshotIsNewer('c', 's.answer_key')}
)
INSERT INTO availability_slots AS t (integration_id, product_octo_id, option_octo_id, availability_id, local_date_time_start,
  starts_at, status, vacancies, capacity, raw, order_key, order_source, last_received, last_snapshot, removed_at, updated_at)
SELECT w.integration_id, w.product_octo_id, w.option_octo_id, w.availability_id, w.local_date_time_start, w.starts_at, w.status,
  w.vacancies, w.capacity, w.raw, w.answer_key, 'received_at', w.answer_key, w.answer_key, w.removed_at, now()
FROM w
ORDER BY ${slotLockOrder('w')}
ON CONFLICT (integration_id, product_octo_id, option_octo_id, availability_id) DO UPDATE SET
  local_date_time_start = CASE WHEN excluded.removed_at IS NULL THEN excluded.local_date_time_start ELSE t.local_date_time_start END,
  starts_at = CASE WHEN excluded.removed_at IS NULL THEN excluded.starts_at ELSE t.starts_at END,
  vacancies = CASE WHEN excluded.removed_at IS NULL THEN excluded.vacancies ELSE t.vacancies END,
  capacity = CASE WHEN excluded.removed_at IS NULL THEN excluded.capacity ELSE t.capacity END,
  raw = CASE WHEN excluded.removed_at IS NULL THEN excluded.raw ELSE t.raw END,
  status = excluded.status, order_key = excluded.order_key, order_source = excluded.order_source,
  last_received = excluded.last_received, last_snapshot = excluded.last_snapshot, removed_at = excluded.removed_at, updated_at = now()
WHERE ${snapshotIsNewer('t', 'excluded.last_snapshot')} AND CASE WHEN excluded.removed_at IS NULL
  THEN (t.local_date_time_start, t.status, t.vacancies, t.capacity, t.raw, t.removed_at)
    IS DISTINCT FROM (excluded.local_date_time_start, excluded.status, excluded.vacancies, excluded.capacity, excluded.raw, NULL::timestamptz)
  ELSE t.removed_at IS NULL AND t.local_date_time_start IS NOT DISTINCT FROM excluded.local_date_time_start END
RETURNING (xmax = 0) AS created, t.removed_at IS NOT NULL AS closed, ${WRITTEN_SLOT_SQL}`;

// The same windows, kept per option as the newest answer: the slot upsert of a push refuses a
// change received before it for a slot in its window (see AvailabilityStore), also where this
// pull wrote nothing.
const MARK_ANSWERED = `
INSERT INTO availability_pull_marks AS t (integration_id, product_octo_id, option_octo_id, date_from, date_to, answer_key)
SELECT $1::uuid, s.product_octo_id, s.option_octo_id, s.date_from, s.date_to, s.answer_key
FROM jsonb_to_recordset($2::jsonb) AS s(product_octo_id text, option_octo_id text, answer_key bigint, date_from text, date_to text)
ORDER BY s.product_octo_id COLLATE "C", s.option_octo_id COLLATE "C"
ON CONFLICT (integration_id, product_octo_id, option_octo_id) DO UPDATE SET
  date_from = excluded.date_from, date_to = excluded.date_to, answer_key = excluded.answer_key
WHERE t.answer_key < excluded.answer_key`;

const DUE_FOR_PULL = `
SELECT i.id FROM integrations i
WHERE i.availability_pull_enabled AND i.is_approved AND i.is_active AND i.deleted_at IS NULL AND i.health_status <> 'DOWN'
  AND NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.integration_id = i.id AND r.kind = 'availability_pull' AND NOT r.scoped
    AND r.queued_at > $1::timestamptz - make_interval(mins => i.availability_pull_interval_minutes))`;

const PRUNE_PAST = `
DELETE FROM availability_slots WHERE id IN (
  SELECT id FROM availability_slots WHERE starts_at < $1 ORDER BY starts_at LIMIT $2)`;

import type { Pool } from 'pg';
import type { SlotRow } from './availability.store';
import type { Integration } from '../generated/prisma/client';
import { appendChanges, slotEvents, type WrittenSlot } from '../feed/change-outbox';
import { LOCK_OPTION_MARKS, PRUNE_MARKS, TRIM_MARKS } from './pull-marks';
import { ANSWER_DIGESTS, CONFIRM_SAME, RECONCILE_SNAPSHOT } from './pull-statements';
import { moveMisplaced, type Placement } from './slot-placement';
import { pullTiersOf, type PullTier } from './pull-schedule';
import { PRUNE_PRICES, RECORD_CURRENCY_CHECKS, UPSERT_PRICES, type SlotPriceRow } from './slot-prices';

/** The run's fenced transaction as the pull statements use it (SQL only: `RunTx`, run-fence.ts, has this shape). */
interface RunSql {
  query<R>(sql: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
}

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
  /**
   * SHA-256 (hex) of the answer's bytes, kept with the pull mark so that the next answer with the
   * same bytes writes the mark only (see {@link SameAnswer}). Absent when such an answer must be
   * reconciled anyway: it held back or dropped slots (each pull reports them), or listed a slot
   * outside its window or without a start (the window's stored slots, which the confirmation
   * compares with what the answer listed, cannot include those).
   */
  digest?: string;
  /** The currency the answer was asked in (the integration's first); absent: none asked. */
  currency?: string;
  /** The listed slots' prices in `currency`, stored beside the slots; absent when none was asked or the answer priced in another. */
  prices?: readonly SlotPriceRow[];
}

/**
 * An answer whose bytes are those of its option's pull mark, over the same window: left unparsed.
 * It confirms the window by moving the mark, writing no slot, if the window's open stored slots are
 * exactly those the mark's answer listed, with the same content; else it must be parsed and
 * reconciled as an {@link OptionSnapshot}.
 */
export interface SameAnswer {
  productId: string;
  optionId: string;
  from: string;
  to: string;
  answerKey: bigint;
  digest: string;
  /** The currency it was asked in; null: none. A mark of another currency never confirms it. */
  currency: string | null;
}

/** Per asked currency, whether the last answer priced in it (shown on the integration). */
export type CurrencyChecks = Record<string, { honoured: boolean; answered: string[]; checked_at: string }>;

/** The digests of an integration's pull marks (one per option and window): tells an answer the same as the last one over its window before it is parsed. */
export class AnswerDigests {
  constructor(private readonly marks: ReadonlyMap<string, string>) {}

  /** Whether `answer` has the bytes of its option's mark over the same window (the database checks again, with the window's slots). */
  same(answer: Pick<SameAnswer, 'productId' | 'optionId' | 'from' | 'to' | 'digest' | 'currency'>): boolean {
    return this.marks.get(windowKey(answer.productId, answer.optionId, answer.from, answer.to)) === `${answer.digest}\u0000${answer.currency ?? ''}`;
  }
}

/** What reconciling snapshots did to the stored slots. */
export interface SlotCounts {
  created: number;
  updated: number;
  /** Listed and stored as listed already, or refused because a newer push holds the slot. */
  unchanged: number;
  closed: number;
}

/** `availability_pull` settings of an integration: `daysAhead` is the whole window (the last tier's), `intervalMinutes` the first tier's. */
export interface PullSettings {
  enabled: boolean;
  daysAhead: number;
  intervalMinutes: number;
  tiers: PullTier[];
}

/** Reads the pull settings off an integration row. */
export function pullSettingsOf(integration: Pick<Integration, 'availabilityPullEnabled' | 'availabilityPullDaysAhead' | 'availabilityPullIntervalMinutes' | 'availabilityPullTiers'>): PullSettings {
  return { enabled: integration.availabilityPullEnabled, daysAhead: integration.availabilityPullDaysAhead, intervalMinutes: integration.availabilityPullIntervalMinutes, tiers: pullTiersOf(integration) };
}

/**
 * Availability pulls: what to ask for, and reconciling a snapshot with the stored slots (when
 * each tier is due: `PullSchedule`). A snapshot orders against pushes on the receive
 * time line: it applies to a slot only if no push received after its answer (nor a newer
 * snapshot) was applied, and it writes only slots whose content differs; its answer key and
 * window are kept per option and window (`availability_pull_marks`) so that a push received
 * before it and applied after it is refused for every slot of the window, written or not.
 */
export class AvailabilityPullStore {
  constructor(private readonly pool: Pool) {}

  /** The active products and options of an integration, optionally one product or option. */
  async targets(integrationId: string, only: { productId?: string; optionId?: string } = {}): Promise<PullTarget[]> {
    const { rows } = await this.pool.query<PullTarget>(PULL_TARGETS, [integrationId, only.productId ?? null, only.optionId ?? null]);
    return rows;
  }

  /** The digests of the pull marks of `integrationId` (options whose last answer can be confirmed by its bytes). */
  async answerDigests(integrationId: string): Promise<AnswerDigests> {
    const { rows } = await this.pool.query<{ productId: string; optionId: string; from: string; to: string; digest: string; currency: string | null }>(ANSWER_DIGESTS, [integrationId]);
    return new AnswerDigests(new Map(rows.map((r) => [windowKey(r.productId, r.optionId, r.from, r.to), `${r.digest}\u0000${r.currency ?? ''}`])));
  }

  /**
   * Confirms answers the same as their option's pull mark by moving the mark to their answer key,
   * on `client` (the run's fenced transaction), where the window's open stored slots are exactly
   * what that mark's answer listed (same ids, same content hashes), whoever wrote them. Locks (after
   * the options' mark locks) and writes pull marks only, never a slot (so it cannot take locks out of the slots' lock order). Returns,
   * per answer in order, the slots it listed (now counted unchanged), or null where the answer must
   * be reconciled in full, in a transaction of its own.
   */
  async confirm(client: RunSql, integrationId: string, answers: readonly SameAnswer[]): Promise<Array<number | null>> {
    await lockOptions(client, integrationId, answers);
    const rows = (await client.query<{ product_octo_id: string; option_octo_id: string; slot_count: number }>(CONFIRM_SAME, [integrationId, JSON.stringify(answers.map((a) => ({ ...scopeOf(a), date_from: a.from, date_to: a.to, digest: a.digest, currency: a.currency }))), ...windowBounds(answers)])).rows;
    const confirmed = new Map(rows.map((r) => [optionKey(r.product_octo_id, r.option_octo_id), r.slot_count]));
    return answers.map((a) => confirmed.get(optionKey(a.productId, a.optionId)) ?? null);
  }

  /**
   * Upserts what each snapshot of `integrationId` lists and closes the stored slots of its window
   * it no longer lists, on `client` (the run's fenced transaction: see `SyncRunStore.withPullFence`).
   * Many options' answers (one snapshot per option) go in one slot statement, so a pull costs a few
   * transactions, not one per option, and each locks its slots in the one lock order
   * (`slot-order.ts`). Returns each snapshot's counts, in order.
   */
  async reconcile(client: RunSql, integrationId: string, snapshots: readonly OptionSnapshot[]): Promise<SlotCounts[]> {
    await lockOptions(client, integrationId, snapshots);
    const windows = snapshots.map((s) => ({ ...scopeOf(s), date_from: s.from, date_to: s.to, listed: [...s.slots.map((slot) => slot.availability_id), ...(s.held ?? [])] }));
    // With what the marks keep: the one statement writes the slots and the answers' marks.
    const answers = JSON.stringify(snapshots.map((s, i) => ({ ...windows[i]!, slots: s.slots, digest: s.digest ?? null, currency: s.currency ?? null, slot_count: s.slots.length })));
    const rows = (await client.query<ReconciledSlot>(RECONCILE_SNAPSHOT, [integrationId, answers, ...windowBounds(snapshots)])).rows;
    // A listed start moved to another month: its row goes to that month's partition (slot-placement.ts).
    await moveMisplaced((sql, values) => client.query(sql, values), rows);
    const written = rows.filter((row) => !row.closed);
    const closed = rows.filter((row) => row.closed);
    const prices = snapshots.flatMap((snapshot) => snapshot.prices ?? []);
    if (prices.length > 0) await client.query(UPSERT_PRICES, [integrationId, JSON.stringify(prices)]);
    // Last in the transaction, as the outbox requires: every slot whose content changed is an event.
    await appendChanges((sql, values) => client.query(sql, values), slotEvents([...written, ...closed]));
    return countsPerSnapshot(snapshots, written, closed);
  }

  /**
   * Drops the marks of `options` that no longer decide anything (see pull-marks.ts): those whose
   * window ended before `expiredBefore` (a local date) and those a newer mark covers whole; cuts
   * those a newer one overlaps to their end (a tier window that slid) to the dates before it; with
   * `prices`, also the options' slot prices dated before `expiredBefore`. On `client`, the run's
   * fenced transaction that wrote or moved their marks.
   */
  async pruneMarks(client: RunSql, integrationId: string, options: ReadonlyArray<Pick<PullTarget, 'productId' | 'optionId'>>, expiredBefore: string, { prices = false } = {}): Promise<void> {
    if (options.length === 0) return;
    const marked = optionsParam(options);
    await client.query(TRIM_MARKS, [integrationId, marked]);
    await client.query(PRUNE_MARKS, [integrationId, marked, expiredBefore]);
    // Only integrations that list currencies have prices to prune: the others pay no statement for it.
    if (prices) await client.query(PRUNE_PRICES, [integrationId, marked, expiredBefore]);
  }

  /**
   * Stores slot prices of answers asked in a secondary currency (no slot row is written: the
   * primary currency's answers keep the slots), on `client`, the run's fenced transaction, after
   * the options' mark locks (as every pull write of an option).
   */
  async writePrices(client: RunSql, integrationId: string, rows: readonly SlotPriceRow[]): Promise<void> {
    if (rows.length === 0) return;
    await lockOptions(client, integrationId, rows.map((r) => ({ productId: r.product_octo_id, optionId: r.option_octo_id })));
    await client.query(UPSERT_PRICES, [integrationId, JSON.stringify(rows)]);
  }

  /** Merges the run's answers per asked currency into the integration's `currency_checks`, on `client`. */
  async recordCurrencyChecks(client: RunSql, integrationId: string, checks: CurrencyChecks): Promise<void> {
    if (Object.keys(checks).length === 0) return;
    await client.query(RECORD_CURRENCY_CHECKS, [integrationId, JSON.stringify(checks)]);
  }

}

/** The options' mark locks, first in a pull's write transaction: pulls of other flights writing an option take turns (pull-marks.ts). */
async function lockOptions(client: RunSql, integrationId: string, options: ReadonlyArray<Pick<PullTarget, 'productId' | 'optionId'>>): Promise<void> {
  if (options.length === 0) return;
  await client.query(LOCK_OPTION_MARKS, [integrationId, optionsParam(options)]);
}

/** Options as the mark statements' $2: [{product_octo_id, option_octo_id}]. */
function optionsParam(options: ReadonlyArray<Pick<PullTarget, 'productId' | 'optionId'>>): string {
  return JSON.stringify(options.map((o) => ({ product_octo_id: o.productId, option_octo_id: o.optionId })));
}

/** A slot the snapshot statement wrote: listed (new or changed), or closed because no longer listed. */
type ReconciledSlot = WrittenSlot & Placement & { created: boolean; closed: boolean };

const optionKey = (productId: string, optionId: string): string => `${productId}\u0000${optionId}`;
const windowKey = (productId: string, optionId: string, from: string, to: string): string => `${optionKey(productId, optionId)}\u0000${from}\u0000${to}`;
const scopeOf = (s: Pick<OptionSnapshot, 'productId' | 'optionId' | 'answerKey'>) => ({ product_octo_id: s.productId, option_octo_id: s.optionId, answer_key: s.answerKey.toString() });

/** The first and last dates of the answers' windows (the pull statements' $3 and $4: partition pruning). */
function windowBounds(answers: ReadonlyArray<{ from: string; to: string }>): [string | null, string | null] {
  if (answers.length === 0) return [null, null];
  return [answers.map((a) => a.from).reduce((a, b) => (a < b ? a : b)), answers.map((a) => a.to).reduce((a, b) => (a > b ? a : b))];
}

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

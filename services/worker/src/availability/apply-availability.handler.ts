import { isDataException, isRefusedValue, newerInSource, optionKey, slotKey, sqlStateOf, syncRefusal, type Db, type SlotRow } from '@octo-sync/db';
import { latestUpdatedAt, type PayloadOf, type SlotChange, type SlotResult, type availabilityApplyJob } from '@octo-sync/jobs';
import type { SyncRequests } from '@octo-sync/runs';
import { asError, GroupCommit, unstorableInput, type Logger } from '@octo-sync/platform';
import { startsAtOf } from './slot-start';

export interface AvailabilityDeps {
  db: Db;
  /** Starts the full sync that a change for an unknown product or option asks for. */
  requests: SyncRequests;
  log: Logger;
  /** Most changes written in one statement. */
  maxBatch: number;
}

interface Pending {
  integrationId: string;
  change: SlotChange;
}

function toRow({ integrationId, change }: Pending): SlotRow {
  const start = change.localDateTimeStart ?? null;
  return {
    integration_id: integrationId.toLowerCase(),
    product_octo_id: change.productId,
    option_octo_id: change.optionId,
    availability_id: change.availabilityId,
    local_date_time_start: start,
    starts_at: startsAtOf(start),
    status: change.status ?? null,
    vacancies: change.vacancies ?? null,
    capacity: change.capacity ?? null,
    ...orderingOf(change),
    raw: change.raw ?? null,
  };
}

/**
 * A change's keys. Jobs queued before receive keys existed (still in the durable queue after an
 * upgrade) carry no `receivedKey`, and their received-at order key is in the old unit (µs, not
 * µs × 1000 + replica tag, the unit the migration moved stored keys to).
 */
function orderingOf(change: SlotChange): Pick<SlotRow, 'order_key' | 'order_source' | 'received_key'> {
  if (change.receivedKey !== undefined) return { order_key: change.orderKey, order_source: change.orderSource, received_key: change.receivedKey };
  const legacyReceived = String(BigInt(change.orderKey) * 1000n);
  if (change.orderSource === 'received_at') return { order_key: legacyReceived, order_source: 'received_at', received_key: legacyReceived };
  return { order_key: change.orderKey, order_source: change.orderSource, received_key: '0' };
}

/**
 * The statements a batch needs: one statement writes a slot at most once, so each slot's changes
 * go in arrival order, one per round. A run of changes of one source collapses to its newest
 * (the others would be stale an instant later), so a batch is almost always a single round.
 */
function planRounds(rows: readonly SlotRow[], isKnown: (row: SlotRow) => boolean): number[][] {
  const perSlot = new Map<string, number[]>();
  rows.forEach((row, i) => {
    if (!isKnown(row)) return;
    const line = perSlot.get(slotKey(row));
    if (!line) return void perSlot.set(slotKey(row), [i]);
    const last = line.length - 1;
    if (rows[line[last]!]!.order_source !== row.order_source) line.push(i);
    else if (newerInSource(row, rows[line[last]!]!)) line[last] = i;
  });
  const rounds: number[][] = [];
  for (const line of perSlot.values()) line.forEach((index, round) => (rounds[round] ??= []).push(index));
  return rounds;
}

/** A change's outcome, or the error the database gave for it alone that is not its values' fault (its job fails). */
type Applied = SlotResult | { error: Error };

/** Writes one batch: known slots in rounds, a full sync for each integration with unknown ones. */
async function applyBatch(deps: AvailabilityDeps, items: readonly Pending[]): Promise<SlotResult[]> {
  const rows = items.map(toRow);
  const known = await deps.db.availability.knownOptions(rows);
  const isKnown = (row: SlotRow) => known.has(optionKey(row));

  const rounds = planRounds(rows, isKnown);
  const written = await deps.db.availability.apply(rounds.map((round) => round.map((i) => rows[i]!)));
  const updated = new Set(rounds.flatMap((round, r) => round.filter((i) => written[r]!.has(slotKey(rows[i]!)))));
  const unknownIntegrations = new Set(rows.filter((row) => !isKnown(row)).map((row) => row.integration_id));
  for (const integrationId of unknownIntegrations) await requestFullSync(deps, integrationId);
  return rows.map((row, i): SlotResult => {
    if (!isKnown(row)) return { updated: false, full_sync_queued: true };
    return updated.has(i) ? { updated: true } : { updated: false, stale: true };
  });
}

/** A product or option we do not know: one full sync (joining one queued or running) brings it. */
async function requestFullSync({ db, requests, log }: AvailabilityDeps, integrationId: string): Promise<void> {
  const integration = await db.integrations.findById(integrationId);
  if (!integration || syncRefusal(integration, 'availability_fallback')) {
    log.info({ integrationId }, 'change for an unknown product; no full sync: the integration may not sync now');
    return;
  }
  await requests.request(integration, 'availability_fallback', { joinRunning: true });
}

function rejected(log: Logger, item: Pending, reason: Record<string, unknown>): SlotResult {
  // Never the change itself: its fields are the partner's payload.
  log.warn({ integrationId: item.integrationId, ...reason }, 'slot change refused; the rest of its batch is applied');
  return { updated: false, rejected: true };
}

/** {@link applyBatch}, halving a batch the database refuses for its values until the culprit is alone. */
async function applyIsolated(deps: AvailabilityDeps, items: readonly Pending[]): Promise<Applied[]> {
  try {
    return await applyBatch(deps, items);
  } catch (err) {
    if (!isDataException(err)) throw err;
    if (items.length === 1) return [isRefusedValue(err) ? rejected(deps.log, items[0]!, { sqlState: sqlStateOf(err) }) : { error: asError(err) }];
    // Halves in arrival order, so the slot ordering of the batch is kept.
    const middle = Math.ceil(items.length / 2);
    return [...(await applyIsolated(deps, items.slice(0, middle))), ...(await applyIsolated(deps, items.slice(middle)))];
  }
}

const INT4_MAX = 2_147_483_647;

/**
 * What Postgres is known to refuse in a change the job contract lets through: text it cannot
 * store, a start whose UTC instant lies outside years 1–9999, a count past `integer`. Found here,
 * each costs nothing; found by the database, each costs a split of its whole batch. Also an
 * `updated_at` order key past {@link latestUpdatedAt}: stored, it would freeze its slot (a job
 * queued before the gateway bounded `updatedAt`, or a failed one retried from the dashboard).
 */
function unstorableProblem(change: SlotChange, now: number): string | undefined {
  if (unstorableInput(change, 'change').length > 0) return 'unstorable text';
  if (change.orderSource === 'updated_at' && BigInt(change.orderKey) > BigInt(latestUpdatedAt(now))) return 'updatedAt too far ahead';
  const startsAt = startsAtOf(change.localDateTimeStart ?? null);
  if (startsAt !== null && !/^(?!0000)\d{4}-/.test(startsAt)) return 'unstorable start';
  if ((change.vacancies ?? 0) > INT4_MAX || (change.capacity ?? 0) > INT4_MAX) return 'unstorable count';
  return undefined;
}

/** Answers changes known to be unstorable `rejected` before SQL sees them; applies the rest. */
async function applyStorable(deps: AvailabilityDeps, items: readonly Pending[]): Promise<Applied[]> {
  const now = Date.now();
  const problems = items.map((item) => unstorableProblem(item.change, now));
  const results = await applyIsolated(deps, items.filter((_, i) => problems[i] === undefined));
  let next = 0;
  return items.map((item, i) => (problems[i] === undefined ? results[next++]! : rejected(deps.log, item, { problem: problems[i] })));
}

/** The `availability.apply` handler and the batcher behind it. */
export interface AvailabilityApplier {
  handle: (payload: PayloadOf<typeof availabilityApplyJob>) => Promise<SlotResult[]>;
  /** Resolves once every change handed in so far is written (or answered). */
  drain(): Promise<void>;
}

/**
 * `availability.apply`: writes slot changes (the ordering rule is the store's). Changes of many
 * jobs are written together, one statement per round, all rounds in one transaction (see
 * {@link GroupCommit}; integrations take turns filling a batch). A change for a product or option
 * we do not know queues one full sync of the integration (joining any sync already queued or
 * running) instead. A change known to be unstorable (text, a start outside years 1–9999, a count
 * past `integer`, an `updatedAt` order key more than a day ahead) is answered `rejected` without reaching SQL (the gateway refuses such values;
 * this is for whatever reaches the queue another way). Should
 * the database still refuse a batch for one change's values (any data exception, class 22, or a
 * check constraint, 23514), the batch is split within the same attempt until that change is
 * alone, and it is answered `rejected`: a value that cannot be stored never makes the queue retry
 * a job, which would hold every tenant's changes that share its batches. Only a program limit
 * other than a value too large (class 54, a statement of ours) fails that change's job. Either
 * way every other job of the batch is applied.
 */
export function createAvailabilityApplier(deps: AvailabilityDeps): AvailabilityApplier {
  const batcher = new GroupCommit((items: readonly Pending[]) => applyStorable(deps, items), deps.maxBatch);
  return {
    handle: async ({ integrationId, changes }) => {
      const results = await batcher.submit(
        changes.map((change) => ({ integrationId, change })),
        integrationId,
      );
      const failure = results.find((result): result is { error: Error } => 'error' in result);
      if (failure) throw failure.error;
      return results as SlotResult[];
    },
    drain: () => batcher.drain(),
  };
}

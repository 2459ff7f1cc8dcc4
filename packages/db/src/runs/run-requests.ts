import type { Pool } from 'pg';
import type { PrismaClient } from '../client';
import type { Prisma } from '../generated/prisma/client';
import { uuidv7 } from '../uuid';
import { joinableRun } from './run-scope';
import type { RunKind, RunTrigger } from './sync-runs.store';

/*
 * Requests for runs: how a trigger records that it wants a run, joining a queued one that covers
 * it rather than queueing another (the single-file rule of `SyncRunStore`).
 */

/** How many request ids a run keeps: enough to find the webhooks behind it, bounded under a flood. */
export const RUN_REQUEST_IDS_MAX = 20;
// $1 run id, $2 the request ids that joined it.
const APPEND_REQUEST_IDS = `
UPDATE sync_runs SET request_ids = (request_ids || $2::text[])[1:${RUN_REQUEST_IDS_MAX}]
WHERE id = $1::uuid AND cardinality(request_ids) < ${RUN_REQUEST_IDS_MAX}`;

/**
 * Takes the transaction-scoped advisory lock that serialises the run requests of one integration
 * (not its sync writes, which hold the row lock): every path that joins or creates a run takes it.
 */
export async function lockRunRequests(tx: Pick<Prisma.TransactionClient, '$executeRaw'>, integrationId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`run-request:${integrationId}`}, 0))`;
}

/**
 * `joinRunning`: also join a run that is already running (for requests that any run will satisfy,
 * such as the availability fallback), instead of queueing a follow-up behind it.
 * `scheduleTick`: the scheduler tick requesting the run, recorded on a run this call creates.
 * `requestIds`: the gateway requests asking, recorded on the run (the first {@link RUN_REQUEST_IDS_MAX}).
 * `productIds`: a targeted refresh of these products only (see {@link joinableRun}); empty or left
 * out, a full catalog sync.
 * `pullScope`: the key of an availability pull narrowed by a refresh (the scope itself travels in
 * its job; the run's `pull_scope`): only a request of exactly that scope joins it (see
 * {@link joinableRun}), and only whole pulls make an integration due later (`AvailabilityPullStore.due`).
 */
export interface RunRequestOptions {
  force?: boolean;
  joinRunning?: boolean;
  scheduleTick?: Date;
  requestIds?: readonly string[];
  kind?: RunKind;
  productIds?: readonly string[];
  pullScope?: string;
}

/** The run a request got: joined (`created` false) or new. */
export interface RequestedRun {
  runId: string;
  created: boolean;
  startedBefore: boolean;
  trigger: RunTrigger;
}

/** A queued catalog run as {@link findQueuedRun} reads it. */
export interface QueuedRun {
  runId: string;
  force: boolean;
  startedBefore: boolean;
  trigger: RunTrigger;
  targeted: boolean;
}

/**
 * Records a request for a run of `integrationId` (see {@link RunRequestOptions}): joins the queued
 * run that covers it (recording `force` and the request ids on it), else creates one. Requests
 * for one integration are serialised by an advisory lock.
 */
export async function requestRun(prisma: PrismaClient, integrationId: string, trigger: RunTrigger, options: RunRequestOptions = {}): Promise<RequestedRun> {
  const force = options.force ?? false;
  const requestIds = options.requestIds ?? [];
  const kind = options.kind ?? 'catalog';
  const productIds = options.productIds ?? [];
  const pullScope = options.pullScope ?? null;
  return prisma.$transaction(async (tx) => {
    await lockRunRequests(tx, integrationId);
    const queued = await joinableRun(tx, { integrationId, kind, joinRunning: options.joinRunning ?? false, productIds, pullScope });
    if (queued) {
      if (force && !queued.force) await tx.syncRun.update({ where: { id: queued.id }, data: { force: true } });
      if (requestIds.length > 0) await tx.$executeRawUnsafe(APPEND_REQUEST_IDS, queued.id, requestIds);
      return { runId: queued.id, created: false, startedBefore: queued.attempts > 0, trigger: queued.trigger };
    }
    const data = { id: uuidv7(), integrationId, trigger, kind, force, scheduleTick: options.scheduleTick ?? null, requestIds: requestIds.slice(0, RUN_REQUEST_IDS_MAX), productIds: [...productIds], pullScope };
    const run = await tx.syncRun.create({ data, select: { id: true } });
    return { runId: run.id, created: true, startedBefore: false, trigger };
  });
}

/**
 * The integration's oldest `queued` catalog run, read without {@link requestRun}'s lock or
 * transaction: a caller that would join it anyway (no `force` to record) can skip the lock,
 * because joining needs no serialisation (only creating a run does), and a run seen queued now has
 * not started its fetch yet. Null when none is queued: then call `requestRun` (also to widen a
 * `targeted` one).
 */
export async function findQueuedRun(pool: Pool, integrationId: string): Promise<QueuedRun | null> {
  // On the webhook hot path: one plain statement on the pool, without Prisma's query planning.
  const { rows } = await pool.query<{ id: string; force: boolean; attempts: number; trigger: RunTrigger; targeted: boolean }>(
    `SELECT id, force, attempts, trigger, cardinality(product_ids) > 0 AS targeted FROM sync_runs WHERE integration_id = $1::uuid AND status = 'queued' AND kind = 'catalog' ORDER BY queued_at LIMIT 1`,
    [integrationId],
  );
  const queued = rows[0];
  return queued ? { runId: queued.id, force: queued.force, startedBefore: queued.attempts > 0, trigger: queued.trigger, targeted: queued.targeted } : null;
}

/** Records gateway requests that joined a run (a no-op once it holds {@link RUN_REQUEST_IDS_MAX}). */
export async function addRequestIds(pool: Pool, runId: string, requestIds: readonly string[]): Promise<void> {
  if (requestIds.length > 0) await pool.query(APPEND_REQUEST_IDS, [runId, requestIds]);
}

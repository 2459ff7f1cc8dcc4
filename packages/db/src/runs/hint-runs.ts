import type { PrismaClient } from '../client';
import type { Prisma, SyncRun } from '../generated/prisma/client';
import { uuidv7 } from '../uuid';
import { HINT_SCOPE } from './pull-flight';
import { lockRunRequests, RUN_REQUEST_IDS_MAX } from './run-requests';

/*
 * Pull runs made by change hints: a hint joins the integration's queued hint run (its targets
 * widened, while the run is still queued, so its supplier calls start after the hint arrived),
 * else starts a new one. The run's targets live on its row (`hint_targets`), not in its job, so
 * that hints arriving while its job waits out the coalescing delay all land in it. Every hint run
 * of an integration has the same pull scope, `["hints"]`: one pull flight, so a hint run waits
 * (queued, still joined by hints) while another runs, and two never ask the supplier for the same
 * option at once. The key is short whatever the run carries, and fixed from claim to end. A hint
 * run still running past `SYNC_RUN_ABANDON_MS` when the next one claims the flight is abandoned
 * with its windows unpulled: the tiers' scheduled pulls cover them later.
 */

/** One hinted target: a product (all its options) or one option, over local dates `from`..`to` (both included). */
export interface HintTarget {
  productId: string;
  optionId?: string;
  from: string;
  to: string;
}

/** Targets one hint run carries at most; past it, a hint starts another run. */
const HINT_RUN_TARGETS_MAX = 100;
/** Longest window one target asks the supplier for, in days (both ends included); hints of one option merge up to it. */
export const HINT_SPAN_MAX_DAYS = 366;

/** A local date (`YYYY-MM-DD`) as a day count, for spans between dates. */
export const dayNumber = (date: string): number => Date.parse(`${date}T00:00:00Z`) / 86_400_000;

/** The targets of a hint run; null for a run that hints did not make. */
export function hintTargetsOf(run: Pick<SyncRun, 'hintTargets'>): HintTarget[] | null {
  return Array.isArray(run.hintTargets) ? (run.hintTargets as unknown as HintTarget[]) : null;
}

/**
 * `known` with `added` merged in: a hint of a target already listed widens its window when the
 * union stays within {@link HINT_SPAN_MAX_DAYS}, else it is listed beside it.
 */
function mergeTargets(known: readonly HintTarget[], added: readonly HintTarget[]): HintTarget[] {
  const merged = known.map((t) => ({ ...t }));
  for (const hint of added) {
    const same = merged.find((t) => {
      if (t.productId !== hint.productId || t.optionId !== hint.optionId) return false;
      const from = t.from < hint.from ? t.from : hint.from;
      const to = t.to > hint.to ? t.to : hint.to;
      return dayNumber(to) - dayNumber(from) < HINT_SPAN_MAX_DAYS;
    });
    if (same === undefined) {
      merged.push({ ...hint });
    } else {
      same.from = same.from < hint.from ? same.from : hint.from;
      same.to = same.to > hint.to ? same.to : hint.to;
    }
  }
  return merged;
}

// Targets as the `hint_targets` column takes them (plain JSON: ids and dates).
const jsonOf = (targets: readonly HintTarget[]): Prisma.InputJsonArray => targets as unknown as Prisma.InputJsonArray;

/**
 * Records hints for a pull of `integrationId`: joins its newest queued hint run when `mayRun`
 * (asked before the transaction) says that run's job can still run (one whose job failed is never pulled) and the merged targets
 * fit, else creates one. The widening writes only while the run is still queued: the claim's
 * update returns the row's targets, so a widening either commits first and is pulled, or writes
 * nothing and the hints make a run of their own. Serialised with every run request of the
 * integration by the same advisory lock as `requestRun`.
 */
export async function requestHintRun(prisma: PrismaClient, integrationId: string, hints: readonly HintTarget[], requestIds: readonly string[], mayRun: (runId: string) => Promise<boolean>): Promise<{ runId: string; created: boolean }> {
  const newestQueued = { where: { integrationId, kind: 'availability_pull' as const, status: 'queued' as const, pullScope: HINT_SCOPE }, orderBy: { queuedAt: 'desc' as const } };
  // Whether its job may run is Redis's to say: asked before the transaction, which holds only SQL
  // (and the integration's run-request lock). Under the lock the run is joined only if it is still
  // the newest queued one; when another became the newest meanwhile (hints arriving together), the
  // question is asked again of that one, a few times before the hints make a run of their own.
  for (let attempt = 1; ; attempt++) {
    const candidate = await prisma.syncRun.findFirst({ ...newestQueued, select: { id: true } });
    const joinable = candidate !== null && (await mayRun(candidate.id)) ? candidate.id : undefined;
    const requested = await prisma.$transaction(async (tx) => {
      await lockRunRequests(tx, integrationId);
      const newest = await tx.syncRun.findFirst({ ...newestQueued, select: { id: true, hintTargets: true, requestIds: true } });
      if (newest !== null && newest.id !== candidate?.id && attempt < JOIN_ATTEMPTS) return undefined;
      const joined = newest !== null && newest.id === joinable ? await widen(tx, newest, hints, requestIds) : undefined;
      return joined ?? createHintRun(tx, integrationId, hints, requestIds);
    });
    if (requested !== undefined) return requested;
  }
}

/** How often a hint asks again whether it may join the newest queued hint run. */
const JOIN_ATTEMPTS = 5;

type QueuedHintRun = Pick<SyncRun, 'id' | 'hintTargets' | 'requestIds'>;

/** Widens queued run `queued` by `hints`, while it is still queued and the targets fit. */
async function widen(tx: Prisma.TransactionClient, queued: QueuedHintRun, hints: readonly HintTarget[], requestIds: readonly string[]): Promise<{ runId: string; created: boolean } | undefined> {
  const targets = mergeTargets(hintTargetsOf(queued) ?? [], hints);
  if (targets.length > HINT_RUN_TARGETS_MAX) return undefined;
  const ids = [...queued.requestIds, ...requestIds].slice(0, RUN_REQUEST_IDS_MAX);
  const widened = await tx.syncRun.updateMany({ where: { id: queued.id, status: 'queued' }, data: { hintTargets: jsonOf(targets), requestIds: ids } });
  return widened.count === 1 ? { runId: queued.id, created: false } : undefined;
}

async function createHintRun(tx: Prisma.TransactionClient, integrationId: string, hints: readonly HintTarget[], requestIds: readonly string[]): Promise<{ runId: string; created: boolean }> {
  const id = uuidv7();
  const data = { id, integrationId, trigger: 'webhook' as const, kind: 'availability_pull' as const, requestIds: requestIds.slice(0, RUN_REQUEST_IDS_MAX), pullScope: HINT_SCOPE, hintTargets: jsonOf(mergeTargets([], hints)) };
  const run = await tx.syncRun.create({ data, select: { id: true } });
  return { runId: run.id, created: true };
}

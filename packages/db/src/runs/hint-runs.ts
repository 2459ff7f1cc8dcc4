import type { PrismaClient } from '../client';
import { uuidv7 } from '../uuid';
import { RUN_REQUEST_IDS_MAX } from './run-requests';

/*
 * Pull runs made by change hints: a hint joins the integration's queued hint run (its scope
 * widened, while the run is still queued, so its supplier calls start after the hint arrived),
 * else starts a new one. The run's targets live on its row (`pull_scope`), not in its job, so that
 * hints arriving while its job waits out the coalescing delay all land in it.
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

// A hint run's `pull_scope` is this prefix's JSON object; a refresh's is a JSON array (run-scope.ts).
const HINTS_PREFIX = '{"hints":';

const dayNumber = (date: string): number => Date.parse(`${date}T00:00:00Z`) / 86_400_000;

/** The targets of a hint run's `pull_scope`; null for a run that hints did not make. */
export function hintTargetsOf(pullScope: string | null): HintTarget[] | null {
  if (pullScope === null || !pullScope.startsWith(HINTS_PREFIX)) return null;
  return (JSON.parse(pullScope) as { hints: HintTarget[] }).hints;
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

const scopeOf = (targets: readonly HintTarget[]): string => JSON.stringify({ hints: targets });

/**
 * Records hints for a pull of `integrationId`: joins its oldest queued hint run when the merged
 * targets fit (the widening writes only while the run is still queued: the claim reads the scope
 * from the row it updates, so a widening either commits first and is pulled, or writes nothing and
 * the hints make a run of their own), else creates one. Serialised with every run request of the
 * integration by the same advisory lock as `requestRun`.
 */
export async function requestHintRun(prisma: PrismaClient, integrationId: string, hints: readonly HintTarget[], requestIds: readonly string[]): Promise<{ runId: string; created: boolean }> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`run-request:${integrationId}`}, 0))`;
    const queued = await tx.syncRun.findFirst({
      where: { integrationId, kind: 'availability_pull', status: 'queued', pullScope: { startsWith: HINTS_PREFIX } },
      orderBy: { queuedAt: 'asc' },
      select: { id: true, pullScope: true, requestIds: true },
    });
    if (queued) {
      const targets = mergeTargets(hintTargetsOf(queued.pullScope) ?? [], hints);
      if (targets.length <= HINT_RUN_TARGETS_MAX) {
        const ids = [...queued.requestIds, ...requestIds].slice(0, RUN_REQUEST_IDS_MAX);
        const widened = await tx.syncRun.updateMany({ where: { id: queued.id, status: 'queued' }, data: { pullScope: scopeOf(targets), requestIds: ids } });
        if (widened.count === 1) return { runId: queued.id, created: false };
      }
    }
    const data = { id: uuidv7(), integrationId, trigger: 'webhook' as const, kind: 'availability_pull' as const, requestIds: requestIds.slice(0, RUN_REQUEST_IDS_MAX), pullScope: scopeOf(mergeTargets([], hints)) };
    const run = await tx.syncRun.create({ data, select: { id: true } });
    return { runId: run.id, created: true };
  });
}

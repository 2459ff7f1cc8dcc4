import { DelayedError, UnrecoverableError } from 'bullmq';
import { pullSettingsOf, syncRefusal, type Db, type Integration, type PullTarget, type RunWarning, type SlotCounts, type SyncRun } from '@octo-sync/db';
import type { JobContext, PayloadOf, availabilityPullJob } from '@octo-sync/jobs';
import { isSupplierError, type SupplierClient, type SupplierTarget } from '@octo-sync/octo';
import { AppError, asError, type Logger } from '@octo-sync/platform';
import { failAttempt } from '../catalog/run-failure';
import { answerKeyOf, eachLimited, pullWindow, toSnapshotSlot } from './pull-window';

export interface PullSettings {
  /** `POST /availability` requests in flight at once per supplier (per run). */
  perSupplier: number;
  busyRetryMs: number;
  abandonAfterMs: number;
  /** Bound of one option's fenced write. */
  writeTimeoutMs: number;
  /** Per-option errors listed in the run at most. */
  maxWarnings: number;
}

export interface PullDeps {
  db: Db;
  supplier: SupplierClient;
  settings: PullSettings;
}

/** What the job returns. */
export interface PullResult {
  runId: string;
  status: SyncRun['status'];
}

type Payload = PayloadOf<typeof availabilityPullJob>;

interface ClaimedPull {
  run: SyncRun;
  integration: Integration;
  fence: bigint;
  log: Logger;
}

/**
 * `availability.pull`: claim the run (pulls and catalog syncs of one integration never run at
 * once), ask the supplier for every active option over the window, reconcile each answer under
 * the run's fence, and record counts and per-option errors. A supplier that fails as a whole
 * (5xx, timeouts) fails the attempt, which the queue retries; the run shows the error.
 */
export function createPullHandler(deps: PullDeps) {
  return async function pullAvailability(payload: Payload, ctx: JobContext): Promise<PullResult> {
    const claim = await deps.db.runs.claim(payload.runId, deps.settings.abandonAfterMs);
    if (claim.kind === 'missing') throw new UnrecoverableError(`pull run ${payload.runId} does not exist`);
    if (claim.kind === 'finished') return { runId: claim.run.id, status: claim.run.status };
    if (claim.kind === 'busy') {
      await ctx.job.moveToDelayed(Date.now() + deps.settings.busyRetryMs, ctx.token);
      throw new DelayedError();
    }
    const { run, integration, fence } = claim;
    const attempt: ClaimedPull = { run, integration, fence, log: ctx.log.child({ runId: run.id, integrationId: integration.id, kind: 'availability_pull' }) };
    try {
      return await pullClaimed(deps, attempt, payload, ctx.signal);
    } catch (thrown) {
      throw (await failAttempt(deps.db, attempt, asError(thrown), ctx)).error;
    }
  };
}

async function pullClaimed(deps: PullDeps, attempt: ClaimedPull, payload: Payload, signal: AbortSignal | undefined): Promise<PullResult> {
  const { db, settings } = deps;
  const { integration, run, fence, log } = attempt;
  const refusal = syncRefusal(integration, run.trigger);
  if (refusal) throw new AppError(refusal.code, refusal.message);
  const only = { ...(payload.productId === undefined ? {} : { productId: payload.productId }), ...(payload.optionId === undefined ? {} : { optionId: payload.optionId }) };
  const targets = await db.pulls.targets(integration.id, only);
  const supplierTarget: SupplierTarget = { baseUrl: integration.baseUrl, authType: integration.authType, authKey: db.integrations.readAuthKey(integration) };
  const counts: SlotCounts = { created: 0, updated: 0, unchanged: 0, closed: 0 };
  const warnings: RunWarning[] = [];
  const pullOne = async (target: PullTarget): Promise<void> => {
    const added = await pullOption(deps, attempt, supplierTarget, target, payload, signal).catch((error: unknown) => optionFailure(error, target, warnings));
    if (added) for (const key of Object.keys(counts) as Array<keyof SlotCounts>) counts[key] += added[key];
  };
  await eachLimited(targets, settings.perSupplier, pullOne);
  const stored = warnings.length === 0 ? null : { items: warnings.slice(0, settings.maxWarnings), omitted: Math.max(0, warnings.length - settings.maxWarnings) };
  const finished = await db.runs.withFence(integration.id, fence, (client) => db.runs.finishPull(client, run, { slots: counts, options: { pulled: targets.length - warnings.length, failed: warnings.length } }, stored), settings.writeTimeoutMs);
  log.info({ options: targets.length, failed: warnings.length, ...counts }, 'availability pulled');
  return { runId: finished.id, status: finished.status };
}

async function pullOption(deps: PullDeps, attempt: ClaimedPull, supplierTarget: SupplierTarget, target: PullTarget, payload: Payload, signal: AbortSignal | undefined): Promise<SlotCounts> {
  const { db, supplier, settings } = deps;
  const { integration, fence } = attempt;
  const window = pullWindow(target.timeZone, pullSettingsOf(integration).daysAhead, new Date(), { from: payload.from, to: payload.to });
  const query = { productId: target.productId, optionId: target.optionId, localDateStart: window.from, localDateEnd: window.to };
  const answer = await supplier.fetchAvailability(supplierTarget, query, signal ? { signal } : {});
  const snapshot = { integrationId: integration.id, productId: target.productId, optionId: target.optionId, ...window, answerKey: answerKeyOf(answer.answeredAt), slots: answer.slots.map(toSnapshotSlot) };
  return db.runs.withFence(integration.id, fence, (client) => db.pulls.reconcile(client, snapshot), settings.writeTimeoutMs);
}

/** Failures that concern one option's answer, not the supplier as a whole (auth, address, outages). */
const PER_OPTION_CODES = new Set(['SUPPLIER_HTTP_ERROR', 'AVAILABILITY_INVALID', 'SUPPLIER_BODY_TOO_LARGE']);

/**
 * One option the supplier refused for good (an unknown product, an answer that is not an
 * availability array) is listed in the run and the others go on; anything else fails the attempt.
 */
function optionFailure(error: unknown, target: PullTarget, warnings: RunWarning[]): undefined {
  if (!isSupplierError(error) || !PER_OPTION_CODES.has(error.code)) throw error;
  warnings.push({ product_id: target.productId, path: `options.${target.optionId}`, reason: `${error.code}: ${error.message}` });
  return undefined;
}

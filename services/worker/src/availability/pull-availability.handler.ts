import { DelayedError, UnrecoverableError } from 'bullmq';
import { pullSettingsOf, syncRefusal, type AnswerDigests, type Db, type Integration, type OptionSnapshot, type PullTarget, type RunTx, type RunWarning, type SyncRun } from '@octo-sync/db';
import { slotTimeBounds, type JobContext, type PayloadOf, type availabilityPullJob } from '@octo-sync/jobs';
import type { SupplierClient, SupplierTarget } from '@octo-sync/octo';
import { AppError, asError, type Logger } from '@octo-sync/platform';
import { failAttempt } from '../catalog/run-failure';
import { budgetedClient, type BudgetDeps } from '../supplier-budget/budgeted-supplier';
import { delayIfThrottled, recordThrottled, runCalls } from '../supplier-budget/run-throttling';
import { optionFailure, snapshotOf, type AnswerScope, type UnparsedAnswer } from './pull-answer';
import { CurrencyTally, secondaryTargets } from './pull-currencies';
import { pullSecondaries } from './pull-secondary';
import { answerKeyOf, eachLimited, windowResolver, type WindowOf } from './pull-window';
import { pullPlanOf, type WindowedTarget } from './pull-targets';
import { SnapshotWriter, type PullWrites } from './snapshot-writer';

export interface PullSettings {
  /** `POST /availability` requests in flight at once per supplier (per run). */
  perSupplier: number;
  busyRetryMs: number;
  abandonAfterMs: number;
  /** Bound of one option's fenced write. */
  writeTimeoutMs: number;
  /** Per-option errors listed in the run at most. */
  maxWarnings: number;
  /** `AVAILABILITY_RETENTION_DAYS`: a pulled slot starting before today minus this many days is dropped. */
  retentionDays: number;
}

export interface PullDeps {
  db: Db;
  supplier: SupplierClient;
  settings: PullSettings;
  /** The suppliers' shared request budgets: each `POST /availability` spends its supplier's. */
  budget: BudgetDeps;
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
 * `availability.pull`: claim the run (one pull per integration and pull scope at a time, beside
 * any catalog sync: run-claim.ts), ask the supplier for every active option over the window, reconcile the answers under
 * the fence of the run's flight (in batches, while the next ones are fetched), and record counts and per-option
 * errors. A supplier that fails as a whole (5xx, timeouts) fails the attempt, which the queue
 * retries; the run shows the error.
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
    const calls = runCalls(deps.budget, integration, attempt, ctx.signal);
    try {
      const pulled = await pullClaimed({ ...deps, supplier: budgetedClient(deps.supplier, calls) }, attempt, payload, ctx.signal);
      await recordThrottled(deps.db, attempt, calls);
      return pulled;
    } catch (thrown) {
      await delayIfThrottled(deps.db, attempt, calls, thrown, ctx);
      await recordThrottled(deps.db, attempt, calls);
      throw (await failAttempt(deps.db, attempt, asError(thrown), ctx)).error;
    }
  };
}

async function pullClaimed(deps: PullDeps, attempt: ClaimedPull, payload: Payload, signal: AbortSignal | undefined): Promise<PullResult> {
  const { db, settings } = deps;
  const { integration, run, fence, log } = attempt;
  const refusal = syncRefusal(integration, run.trigger);
  if (refusal) throw new AppError(refusal.code, refusal.message);
  const [{ targets, notStored }, digests] = await Promise.all([pullPlanOf(db, integration.id, payload, run), db.pulls.answerDigests(integration.id)]);
  const warnings: RunWarning[] = [];
  const dropped: RunWarning[] = [];
  // Marks whose window ended before the oldest start a slot may have are pruned with each write.
  const expiredBefore = new Date(slotTimeBounds(Date.now(), settings.retentionDays).earliestStart).toISOString().slice(0, 10);
  const marking = async <T>(answers: ReadonlyArray<Pick<PullTarget, 'productId' | 'optionId'>>, write: (client: RunTx) => Promise<T>): Promise<T> =>
    db.runs.withPullFence(run, fence, async (client) => {
      const written = await write(client);
      await db.pulls.pruneMarks(client, integration.id, answers, expiredBefore, { prices: integration.currencies.length > 0 });
      return written;
    }, settings.writeTimeoutMs);
  const writes: PullWrites = {
    reconcile: async (batch) => {
      // New options' keys before the fenced transaction, which only reads them (slot-placement.ts).
      await db.availability.ensureOptionKeys(batch.map((a) => ({ integration_id: integration.id, product_octo_id: a.productId, option_octo_id: a.optionId })));
      return marking(batch, (client) => db.pulls.reconcile(client, integration.id, batch));
    },
    confirm: (answers) => marking(answers, (client) => db.pulls.confirm(client, integration.id, answers)),
  };
  const writer = new SnapshotWriter(writes, WRITE_BATCH_SLOTS);
  const tally = new CurrencyTally();
  const [primary, ...secondaries] = integration.currencies;
  const windowOf = windowResolver(pullSettingsOf(integration).daysAhead);
  const fetchOne = answerFetcher({ ...deps, digests, dropped, warnings, tally, windowOf }, integration, primary, signal);
  const pullOne = async (target: WindowedTarget): Promise<void> => {
    const answer = await fetchOne(target).catch((error: unknown) => optionFailure(error, target, warnings));
    if (answer) await writer.add(answer);
  };
  try {
    await eachLimited(targets, settings.perSupplier, pullOne);
  } finally {
    // Also when the supplier failed: the attempt's failure is recorded once its writes have ended.
    await writer.settled();
  }
  // The other currencies' failures are warnings of their own: `warnings` counts the options pulled.
  const priceWarnings: RunWarning[] = [];
  const secondaryWork = { ...deps, targets: secondaryTargets(integration.currencies, run.pullScope, payload.hinted === true, pullSettingsOf(integration).tiers, targets), currencies: secondaries, windowOf, tally, warnings: priceWarnings };
  const prices = await pullSecondaries(secondaryWork, integration, (rows) => db.runs.withPullFence(run, fence, (client) => db.pulls.writePrices(client, integration.id, rows), settings.writeTimeoutMs), signal);
  const counts = writer.result();
  const listed = [...notStored, ...tally.warnings(), ...warnings, ...priceWarnings, ...dropped];
  const stored = listed.length === 0 ? null : { items: listed.slice(0, settings.maxWarnings), omitted: Math.max(0, listed.length - settings.maxWarnings) };
  // The sync-log's freshness figure: each tier's oldest confirmation as the run leaves it (one read
  // of the integration's pull marks, before the finishing transaction).
  const now = new Date();
  const freshness = (await db.freshness.ofIntegrations([integration.id], now)).map((t) => ({
    tier: t.tier,
    oldest_confirmed_at: t.oldestConfirmedAt.toISOString(),
    age_s: Math.max(0, Math.floor((now.getTime() - t.oldestConfirmedAt.getTime()) / 1000)),
  }));
  const pulledCounts = { slots: counts, options: { pulled: targets.length - warnings.length, failed: warnings.length }, freshness };
  const checks = tally.checks(now);
  const finish = async (client: RunTx) => {
    await db.pulls.recordCurrencyChecks(client, integration.id, checks);
    return db.runs.finishPull(client, run, pulledCounts, stored);
  };
  const finished = await db.runs.withPullFence(run, fence, finish, settings.writeTimeoutMs);
  log.info({ options: targets.length, failed: warnings.length, ...counts, secondaryPrices: prices }, 'availability pulled');
  return { runId: finished.id, status: finished.status };
}

/**
 * Slots written per transaction (about 400 bytes of JSON each): big enough that a pull of many
 * options costs a few transactions, small enough that one write and its memory stay small.
 */
const WRITE_BATCH_SLOTS = 2_000;

/** What fetching answers needs beyond the handler's own dependencies. */
interface FetchDeps extends PullDeps {
  tally: CurrencyTally;
  windowOf: WindowOf;
  /** The options' last answers: one with the same bytes is left unparsed. */
  digests: AnswerDigests;
  /** Run warnings: slots dropped or held (`dropped`), options that failed (`warnings`). */
  dropped: RunWarning[];
  warnings: RunWarning[];
}

/**
 * Fetches one option's answer over its window (`windowOf`), in `currency` when the integration
 * lists one. An answer with the bytes of the option's last answer over
 * the same window is left unparsed (the writer confirms it by its pull mark, or parses it when the
 * window changed since); any other is parsed into a snapshot (`snapshotOf`).
 */
function answerFetcher(deps: FetchDeps, integration: Integration, currency: string | undefined, signal: AbortSignal | undefined): (target: WindowedTarget) => Promise<OptionSnapshot | UnparsedAnswer> {
  const supplierTarget: SupplierTarget = { baseUrl: integration.baseUrl, authType: integration.authType, authKey: deps.db.integrations.readAuthKey(integration) };
  const asked = currency === undefined ? {} : { currency };
  return async (target) => {
    const window = deps.windowOf(target);
    const query = { productId: target.productId, optionId: target.optionId, localDateStart: window.from, localDateEnd: window.to, ...asked };
    const fetched = await deps.supplier.fetchAvailability(supplierTarget, query, signal ? { signal } : {});
    const scope: AnswerScope = { productId: target.productId, optionId: target.optionId, ...window, answerKey: answerKeyOf(fetched.answeredAt), ...asked };
    const parse = () => snapshotOf(scope, fetched, slotTimeBounds(Date.now(), deps.settings.retentionDays), deps.dropped, deps.tally);
    const same = { productId: scope.productId, optionId: scope.optionId, from: scope.from, to: scope.to, answerKey: scope.answerKey, digest: fetched.digest, currency: currency ?? null };
    if (!deps.digests.same(same)) return parse();
    const reparse = (): OptionSnapshot | undefined => {
      try {
        return parse();
      } catch (error: unknown) {
        return optionFailure(error, target, deps.warnings);
      }
    };
    return { same, bytes: fetched.bytes, parse: reparse };
  };
}

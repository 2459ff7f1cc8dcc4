import { DelayedError, UnrecoverableError } from 'bullmq';
import { syncRefusal, type Db, type RunOutcome, type SyncRun } from '@octo-sync/db';
import type { JobContext, PayloadOf, catalogSyncJob } from '@octo-sync/jobs';
import type { SupplierClient, SupplierTarget } from '@octo-sync/octo';
import { AppError, asError } from '@octo-sync/platform';
import { budgetedClient, type BudgetDeps } from '../supplier-budget/budgeted-supplier';
import { delayIfThrottled, recordThrottled, runCalls } from '../supplier-budget/run-throttling';
import type { Alerts } from '../alerts/alerts';
import type { WorkerMetrics } from '../metrics';
import { alertRunEnded, alertRunFailed } from './run-alerts';
import { readAdmitted, type BodyLease, type MemoryAdmission } from './memory-admission';
import { failAttempt } from './run-failure';
import { SyncProgressReporter } from './sync-progress';
import { catalogLocaleOf, noteCatalogLocale, readLocales, withLocaleWarnings, writeLocales, type LocalesRead } from './sync-locales';
import { syncTargeted } from './targeted-sync';
import { openCatalog, payloadDigestOf, writeCatalog, type Fetched, type SyncAttempt, type WriteSettings } from './write-catalog';

export interface SyncSettings extends WriteSettings {
  /** How long a run waits before trying again while another run of its integration is running. */
  busyRetryMs: number;
  /** A "running" run not finished after this long has lost its worker and job for good. */
  abandonAfterMs: number;
  /** Shortest time between two writes of a running sync's progress to its job. */
  progressIntervalMs: number;
  /** Products a targeted run fetches at once (`GET /products/{id}`). */
  targetedConcurrency: number;
}

export interface SyncDeps {
  db: Db;
  supplier: SupplierClient;
  settings: SyncSettings;
  /** Told of every run that ends for good. */
  metrics: Pick<WorkerMetrics, 'runEnded'>;
  /** Told of runs that fail for good, recover, or quarantine products. */
  alerts: Alerts;
  /** The process's budget of catalog bytes in memory (`WORKER_MAX_INFLIGHT_BYTES`). */
  admission: MemoryAdmission;
  /** The suppliers' shared request budgets: every call of the run spends its supplier's. */
  budget: BudgetDeps;
}

/** What the job returns (and the gateway reads back from the run row). */
export interface SyncResult {
  runId: string;
  status: SyncRun['status'];
  synced: number;
  skipped: boolean;
}

/**
 * The `catalog.sync` job: claim the run, fetch, skip when the bytes are unchanged, then read,
 * diff against the stored fingerprints and decide, then write only what changed in one fenced
 * transaction (none opens when the content turns out unchanged), and record how the run ended.
 */
export function createSyncCatalogHandler(deps: SyncDeps) {
  return async function syncCatalog({ runId }: PayloadOf<typeof catalogSyncJob>, ctx: JobContext): Promise<SyncResult> {
    const claim = await deps.db.runs.claim(runId, deps.settings.abandonAfterMs);
    if (claim.kind === 'missing') throw new UnrecoverableError(`sync run ${runId} does not exist`);
    if (claim.kind === 'finished') return resultOf(claim.run);
    if (claim.kind === 'busy') return postpone(deps.settings, claim.blockingRunId, ctx);
    const { run, integration, fence } = claim;
    const log = ctx.log.child({ runId, integrationId: integration.id, trigger: run.trigger });
    const attempt: SyncAttempt = { run, integration, fence, log, progress: new SyncProgressReporter(ctx.job, deps.settings.progressIntervalMs, log) };
    const calls = runCalls(deps.budget, integration, attempt, ctx.signal);
    let ended: SyncRun;
    try {
      ended = await syncClaimed({ ...deps, supplier: budgetedClient(deps.supplier, calls) }, attempt, ctx);
    } catch (thrown) {
      await delayIfThrottled(deps.db, attempt, calls, thrown, ctx);
      await recordThrottled(deps.db, attempt, calls);
      const failed = await failAttempt(deps.db, attempt, asError(thrown), ctx);
      if (failed.final) deps.metrics.runEnded({ trigger: run.trigger, status: 'failed', startedAt: run.startedAt });
      if (failed.final && failed.failure) await alertRunFailed(deps.alerts, run, failed.failure);
      throw failed.error;
    }
    await recordThrottled(deps.db, attempt, calls);
    deps.metrics.runEnded(ended);
    await alertRunEnded(deps.alerts, integration, ended);
    return resultOf(ended);
  };
}

/** Another run of this integration is in flight: wait our turn without using up an attempt. */
async function postpone(settings: SyncSettings, blockingRunId: string, ctx: JobContext): Promise<never> {
  ctx.log.debug({ blockingRunId }, 'integration busy, run postponed');
  await ctx.job.moveToDelayed(Date.now() + settings.busyRetryMs, ctx.token);
  throw new DelayedError();
}

async function syncClaimed(deps: SyncDeps, attempt: SyncAttempt, ctx: JobContext): Promise<SyncRun> {
  const target = supplierTarget(deps, attempt);
  if (attempt.run.productIds.length > 0) return syncTargeted(deps, attempt, target, ctx.signal);
  // The other locales first: their bodies are read and let go before the catalog's is held.
  const locales = await readLocales(deps, attempt, target, ctx.signal);
  const { fetched, lease } = await fetchCatalog(deps, attempt, target, ctx.signal);
  noteCatalogLocale(locales, attempt, fetched.contentLanguage);
  try {
    return await syncFetched(deps, attempt, fetched, locales);
  } finally {
    lease.release();
  }
}

async function syncFetched(deps: SyncDeps, attempt: SyncAttempt, fetched: Fetched, locales: LocalesRead): Promise<SyncRun> {
  const { integration, log } = attempt;
  // Identical bytes: nothing to parse, nothing to write (but what the other locales changed).
  if (fetched.digest === integration.lastPayloadDigest && integration.lastSyncHash) {
    const finished = await finishSkipped(deps, attempt, { payloadBytes: fetched.bytes, payloadDigest: fetched.digest, hash: integration.lastSyncHash, warnings: null }, locales);
    log.info({ bytes: fetched.bytes, status: finished.status }, 'catalog unchanged (same bytes)');
    return finished;
  }
  const pass = { ...(await openCatalog(deps, attempt, fetched)), locales };
  const outcome = await writeCatalog(deps, attempt, pass);
  if (outcome.kind === 'same-content') {
    const finished = await finishSkipped(deps, attempt, { payloadBytes: pass.bytes, payloadDigest: payloadDigestOf(pass), hash: outcome.hash, warnings: pass.warnings.stored() }, locales);
    log.info({ bytes: pass.bytes, quarantined: pass.differ.counts.products.quarantined, status: finished.status }, 'catalog unchanged (same content)');
    if (pass.drift?.announces) await deps.alerts.raise(integration.id, 'supplier.drift', pass.drift.alertFacts(attempt.run.id));
    return finished;
  }
  log.info({ bytes: pass.bytes, counts: outcome.run.counts, hash: outcome.run.hash }, 'catalog synced');
  if (pass.drift?.announces) await deps.alerts.raise(integration.id, 'supplier.drift', pass.drift.alertFacts(attempt.run.id));
  return outcome.run;
}

/** Where the run reads from, once the eligibility rule (checked when the run was requested) holds again now that it runs. */
function supplierTarget({ db }: SyncDeps, { integration, run }: SyncAttempt): SupplierTarget {
  const refusal = syncRefusal(integration, run.trigger);
  if (refusal) throw new AppError(refusal.code, refusal.message);
  return { baseUrl: integration.baseUrl, authType: integration.authType, authKey: db.integrations.readAuthKey(integration) };
}

/** The catalog body, and its share of the memory budget: the caller releases it once the body is no longer held. */
async function fetchCatalog({ supplier, admission }: SyncDeps, attempt: SyncAttempt, target: SupplierTarget, signal: AbortSignal | undefined): Promise<{ fetched: Fetched; lease: BodyLease }> {
  const read = (admit: (received: number, expected: number | null) => void) => {
    const onBodyProgress = (received: number, expected: number | null) => {
      admit(received, expected);
      // The call before the first byte is for admission; progress starts with the bytes.
      if (received > 0) attempt.progress.received(received, expected);
    };
    const locale = attempt.integration.locales[0] ?? 'en';
    return supplier.fetchProducts(target, signal ? { signal, onBodyProgress, locale } : { onBodyProgress, locale });
  };
  const onWait = (needed: number) => attempt.log.info({ needed, budget: admission.budget, inUse: admission.inUse }, 'catalog body waits for room in the memory budget');
  const { body, lease } = await readAdmitted(admission, read, signal, onWait);
  attempt.payloadBytes = body.bytes;
  const headers = { contentType: body.contentType, octoHeaders: body.octoHeaders };
  const { contentLanguage } = body.octoHeaders;
  return { fetched: { body: body.body, bytes: body.bytes, digest: body.digest, headers, ...(contentLanguage === undefined ? {} : { contentLanguage }) }, lease };
}

/**
 * Records a run whose catalog rows are unchanged under the run's fence: skipped, unless one of
 * the other locales changed content (then it succeeded, and wrote that).
 */
async function finishSkipped({ db, settings }: SyncDeps, attempt: SyncAttempt, skip: Pick<RunOutcome, 'payloadBytes' | 'payloadDigest' | 'hash' | 'warnings'>, locales: LocalesRead): Promise<SyncRun> {
  return db.runs.withFence(
    attempt.integration.id,
    attempt.fence,
    async (client) => {
      const changed = await writeLocales(db, client, attempt.integration.id, locales);
      const outcome: RunOutcome = {
        ...skip,
        warnings: withLocaleWarnings(skip.warnings, locales),
        status: changed > 0 ? 'succeeded' : 'skipped',
        counts: null,
        synced: 0,
        wroteCatalog: changed > 0,
        ...catalogLocaleOf(locales),
      };
      return db.runs.finish(client, attempt.run, outcome);
    },
    settings.writeTimeoutMs,
  );
}

function resultOf(run: SyncRun): SyncResult {
  return { runId: run.id, status: run.status, synced: run.synced ?? 0, skipped: run.status === 'skipped' };
}

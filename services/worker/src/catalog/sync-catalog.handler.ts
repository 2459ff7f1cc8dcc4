import { DelayedError, UnrecoverableError } from 'bullmq';
import type { Db, Integration, RunFailure, SyncRun } from '@octo-sync/db';
import type { JobContext, PayloadOf, catalogSyncJob } from '@octo-sync/jobs';
import { parseCatalog, type SupplierClient } from '@octo-sync/octo';
import { AppError, asError } from '@octo-sync/platform';
import { diffCatalog, isMassRemoval, type MassRemovalRule } from './diff-catalog';
import { mapCatalog } from './map-catalog';

export interface SyncSettings {
  massRemoval: MassRemovalRule;
  /** How long a run waits before trying again while another run of its integration is running. */
  busyRetryMs: number;
  /** A "running" run not finished after this long has lost its worker and job for good. */
  abandonAfterMs: number;
  /** Upper bound of the catalog write transaction. */
  writeTimeoutMs: number;
}

export interface SyncDeps {
  db: Db;
  supplier: SupplierClient;
  settings: SyncSettings;
}

/** What the job returns (and the gateway reads back from the run row). */
export interface SyncResult {
  runId: string;
  status: SyncRun['status'];
  synced: number;
  skipped: boolean;
}

/** Failures that are the catalog's or the partner's, not a passing fault: retrying cannot help. */
const PERMANENT_CODES = new Set(['MASS_REMOVAL_BLOCKED', 'INTEGRATION_INACTIVE', 'INTEGRATION_NOT_APPROVED', 'INTEGRATION_DOWN']);

function isRetryable(error: Error): boolean {
  if (error instanceof AppError) {
    if (PERMANENT_CODES.has(error.code)) return false;
    const retryable = (error as { retryable?: unknown }).retryable;
    if (typeof retryable === 'boolean') return retryable;
    return !error.code.startsWith('CATALOG_');
  }
  // Not one of ours (Postgres went away, a bug): let the queue try again.
  return true;
}

/** What the sync-log says about a failure: our errors speak for themselves, anything else stays internal. */
function describe(error: Error): { code: string; message: string } {
  if (error instanceof AppError) {
    const details = error.details.length > 0 ? `: ${error.details.slice(0, 10).join('; ')}` : '';
    return { code: error.code, message: `${error.message}${details}` };
  }
  return { code: 'INTERNAL', message: 'internal error while syncing; it will be retried' };
}

function ineligibility(integration: Integration, run: SyncRun): AppError | undefined {
  if (integration.deletedAt !== null || !integration.isActive) return new AppError('INTEGRATION_INACTIVE', 'the integration is inactive or deleted');
  if (!integration.isApproved) return new AppError('INTEGRATION_NOT_APPROVED', 'the integration is not approved yet');
  if (run.trigger === 'schedule' && integration.healthStatus === 'DOWN') {
    return new AppError('INTEGRATION_DOWN', 'scheduled syncs are paused while the supplier is DOWN');
  }
  return undefined;
}

/**
 * The `catalog.sync` job (partner-api.md §5): claim the run, fetch, skip when unchanged, validate,
 * diff against the stored fingerprints, and write only what changed, in one fenced transaction.
 */
export function createSyncCatalogHandler({ db, supplier, settings }: SyncDeps) {
  return async function syncCatalog({ runId }: PayloadOf<typeof catalogSyncJob>, ctx: JobContext): Promise<SyncResult> {
    const claim = await db.runs.claim(runId, settings.abandonAfterMs);
    if (claim.kind === 'missing') throw new UnrecoverableError(`sync run ${runId} does not exist`);
    if (claim.kind === 'finished') return resultOf(claim.run);
    if (claim.kind === 'busy') {
      // Another run of this integration is in flight: wait our turn without using up an attempt.
      ctx.log.debug({ blockingRunId: claim.blockingRunId }, 'integration busy, run postponed');
      await ctx.job.moveToDelayed(Date.now() + settings.busyRetryMs, ctx.token);
      throw new DelayedError();
    }

    const { run, integration, fence } = claim;
    const log = ctx.log.child({ runId, integrationId: integration.id, trigger: run.trigger });
    let payloadBytes: number | undefined;
    try {
      const refusal = ineligibility(integration, run);
      if (refusal) throw refusal;

      // Only the digest and size are kept: the body itself is dropped once parsed (it is as big as
      // the catalog, and the rest of the run needs only the parsed objects).
      let body: Buffer | undefined;
      const fetched = await supplier
        .fetchProducts(
          { baseUrl: integration.baseUrl, authType: integration.authType, authKey: db.integrations.readAuthKey(integration) },
          ctx.signal ? { signal: ctx.signal } : {},
        )
        .then(({ body: bytes, ...rest }) => {
          body = bytes;
          return rest;
        });
      payloadBytes = fetched.bytes;
      const unchanged = { payloadBytes, payloadDigest: fetched.digest, counts: null, synced: 0, wroteCatalog: false, status: 'skipped' } as const;

      // Identical bytes: nothing to parse, nothing to write.
      if (fetched.digest === integration.lastPayloadDigest && integration.lastSyncHash) {
        const finished = await db.runs.withFence(integration.id, fence, (tx) => db.runs.finish(tx, run, { ...unchanged, hash: integration.lastSyncHash! }), settings.writeTimeoutMs);
        log.info({ bytes: payloadBytes }, 'catalog unchanged (same bytes), run skipped');
        return resultOf(finished);
      }

      const products = parseCatalog(body!);
      body = undefined;
      // Rows and the catalog's canonical hash in one pass (key order and whitespace never look like a change).
      const { rows, hash } = await mapCatalog(products);
      if (hash === integration.lastSyncHash) {
        const finished = await db.runs.withFence(integration.id, fence, (tx) => db.runs.finish(tx, run, { ...unchanged, hash }), settings.writeTimeoutMs);
        log.info({ bytes: payloadBytes }, 'catalog unchanged (same content), run skipped');
        return resultOf(finished);
      }

      const stored = await db.catalog.loadFingerprints(integration.id);
      const diff = diffCatalog(rows, stored);
      if (!run.force && isMassRemoval(diff, settings.massRemoval)) {
        throw new AppError(
          'MASS_REMOVAL_BLOCKED',
          `the catalog would deactivate ${diff.counts.products.removed} of ${diff.activeProductsBefore} active products; ` +
            'nothing was written. If this is intended, an admin can force the sync',
        );
      }

      const finished = await db.runs.withFence(
        integration.id,
        fence,
        async (tx) => {
          await db.catalog.write(tx, integration.id, diff.changes);
          return db.runs.finish(tx, run, {
            status: 'succeeded',
            payloadBytes: fetched.bytes,
            payloadDigest: fetched.digest,
            hash,
            counts: diff.counts,
            synced: diff.touchedProducts,
            wroteCatalog: true,
          });
        },
        settings.writeTimeoutMs,
      );
      log.info({ bytes: payloadBytes, counts: diff.counts }, 'catalog synced');
      return resultOf(finished);
    } catch (thrown) {
      const error = asError(thrown);
      if (error instanceof AppError && error.code === 'STALE_RUN') {
        // A newer attempt of this run owns the integration now; this one must not touch anything.
        log.warn('run lost its fence to a newer attempt; stopping');
        throw new UnrecoverableError(error.message);
      }
      const retryable = isRetryable(error);
      const final = !retryable || ctx.job.attemptsMade + 1 >= (ctx.job.opts.attempts ?? 1);
      const failure: RunFailure = { ...describe(error), final, ...(payloadBytes === undefined ? {} : { payloadBytes }) };
      await db.runs.fail(run, fence, failure);
      log[retryable && !final ? 'warn' : 'error']({ code: failure.code, final, err: error instanceof AppError ? undefined : error }, 'sync run failed');
      throw retryable ? error : new UnrecoverableError(failure.message);
    }
  };
}

function resultOf(run: SyncRun): SyncResult {
  return { runId: run.id, status: run.status, synced: run.synced ?? 0, skipped: run.status === 'skipped' };
}

import { DelayedError, UnrecoverableError } from 'bullmq';
import { syncRefusal, type Db, type RunFailure, type RunWarning, type SyncRun } from '@octo-sync/db';
import type { JobContext, PayloadOf, catalogSyncJob } from '@octo-sync/jobs';
import { CatalogReader, type ProductLimits, type ProductQuarantine, type SupplierClient } from '@octo-sync/octo';
import { AppError, asError } from '@octo-sync/platform';
import { CatalogDiffer, isMassRemoval, type MassRemovalRule } from './diff-catalog';
import { CatalogMapper, type CatalogRows } from './map-catalog';
import { RunWarningList } from './run-warnings';

export interface SyncSettings {
  massRemoval: MassRemovalRule;
  /** How long a run waits before trying again while another run of its integration is running. */
  busyRetryMs: number;
  /** A "running" run not finished after this long has lost its worker and job for good. */
  abandonAfterMs: number;
  /** Upper bound of the catalog write transaction. */
  writeTimeoutMs: number;
  /** A product past these is quarantined (kept as stored, listed in the run's warnings). */
  productLimits: ProductLimits;
  /** Warnings a run records; more are only counted. */
  maxWarnings: number;
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
      // The rule was checked when the run was requested; it is checked again now that it runs.
      const refusal = syncRefusal(integration, run.trigger);
      if (refusal) throw new AppError(refusal.code, refusal.message);

      // The body is kept as bytes for the whole run and read one product at a time: the catalog is
      // never materialised as a whole (100 MB of text and ~450 MB of objects at once).
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
      const unchanged = { payloadBytes, payloadDigest: fetched.digest, counts: null, warnings: null, synced: 0, wroteCatalog: false, status: 'skipped' } as const;

      // Identical bytes: nothing to parse, nothing to write.
      if (fetched.digest === integration.lastPayloadDigest && integration.lastSyncHash) {
        const finished = await db.runs.withFence(integration.id, fence, (tx) => db.runs.finish(tx, run, { ...unchanged, hash: integration.lastSyncHash! }), settings.writeTimeoutMs);
        log.info({ bytes: payloadBytes }, 'catalog unchanged (same bytes), run skipped');
        return resultOf(finished);
      }

      // The stored fingerprints are read while the body is framed (the query is sent first). Their
      // failure is kept, not thrown, until awaited: nobody listens to the query meanwhile.
      const storedPromise = db.catalog.loadFingerprints(integration.id).catch(asError);
      await nextTurn();
      let reader: CatalogReader;
      try {
        reader = CatalogReader.open(body!, settings.productLimits);
      } catch (error) {
        const ignored = await storedPromise;
        if (ignored instanceof Error) log.debug({ err: ignored }, 'fingerprints not needed after all');
        throw error;
      }
      body = undefined; // the reader holds it
      const stored = await storedPromise;
      if (stored instanceof Error) throw stored;
      const differ = new CatalogDiffer(stored);
      const warnings = new RunWarningList(settings.maxWarnings);

      // Parse, check, map, diff and write product by product in the fenced transaction: Postgres
      // runs slice N while slice N+1 is parsed and hashed. What needs the whole catalog is decided
      // at the end, before anything commits: a structural problem anywhere (CATALOG_INVALID /
      // CATALOG_NOT_JSON, the same errors parseCatalog gives), unchanged content (skipped), and
      // the mass-removal guard (which needs every product id) all roll the transaction back.
      let hash: string;
      try {
        hash = await db.runs.withFenceClient(
          integration.id,
          fence,
          async (client) => {
            const writer = await db.catalog.openWriter(client, integration.id, stored);
            const mapper = new CatalogMapper(true);
            // The slice being written: its failure is kept, not thrown, until it is awaited (a
            // rejection nobody listens to while the next slice is mapped would end the process).
            let pending: Promise<Error | undefined> = Promise.resolve(undefined);
            const written = async () => {
              const failure = await pending;
              if (failure) throw failure;
            };
            try {
              let rows: CatalogRows = { products: [], options: [], units: [] };
              for (let i = 0; i < reader.length; i++) {
                const entry = reader.read();
                if (entry === undefined) break; // the catalog will be refused: only check the rest
                if (entry.kind === 'product') mapper.map(entry.product, rows);
                else quarantine(entry.quarantine, differ, mapper, warnings);
                const last = i === reader.length - 1;
                if (rows.products.length === SLICE || last) {
                  const changed = differ.classify(rows);
                  rows = { products: [], options: [], units: [] };
                  await written();
                  pending = writer.upsert(changed).then(() => undefined, asError);
                }
                if (i % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
              }
              reader.finish();
            } catch (error) {
              await pending; // the rollback answers for it
              throw error;
            }
            await written();
            if (reader.length > 0 && differ.counts.products.quarantined === reader.length) throw everyProductQuarantined(warnings);
            differ.closeProducts();
            if (differ.heldRemovals > 0) warnings.add(heldRemovalsWarning(differ.heldRemovals));
            const digest = mapper.digest();
            if (digest === integration.lastSyncHash) throw new SameContent(digest);
            if (!run.force && isMassRemoval(differ, settings.massRemoval)) {
              throw new AppError(
                'MASS_REMOVAL_BLOCKED',
                `the catalog would deactivate ${differ.counts.products.removed} of ${differ.activeProductsBefore} active products; ` +
                  'nothing was written. If this is intended, an admin can force the sync',
              );
            }
            await writer.remove(differ.removals());
            await db.runs.finishClient(client, run, {
              status: 'succeeded',
              payloadBytes: fetched.bytes,
              // While products are quarantined the next run re-reads the same bytes, to report them again.
              payloadDigest: warnings.any ? null : fetched.digest,
              hash: digest,
              counts: differ.counts,
              warnings: warnings.stored(),
              synced: differ.touchedProducts,
              wroteCatalog: true,
            });
            return digest;
          },
          settings.writeTimeoutMs,
        );
      } catch (error) {
        if (!(error instanceof SameContent)) throw error;
        const outcome = { ...unchanged, hash: error.hash, warnings: warnings.stored(), payloadDigest: warnings.any ? null : fetched.digest };
        const finished = await db.runs.withFence(integration.id, fence, (tx) => db.runs.finish(tx, run, outcome), settings.writeTimeoutMs);
        log.info({ bytes: payloadBytes, quarantined: differ.counts.products.quarantined }, 'catalog unchanged (same content), run skipped');
        return resultOf(finished);
      }
      const finished = await db.runs.findRun(run.id);
      if (finished === null) throw new Error(`sync run ${run.id} vanished after it was finished`);
      log.info({ bytes: payloadBytes, counts: finished.counts, hash }, 'catalog synced');
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

/** Products mapped, diffed and handed to the writer together (whole products: ~26 rows each). */
const SLICE = 1_000;
/** Products mapped between two yields, so that the writer's statements keep Postgres busy meanwhile. */
const YIELD_EVERY = 25;

/** A product that cannot be stored as sent: no rows, not removed, a stand-in in the hash, a warning. */
function quarantine(q: ProductQuarantine, differ: CatalogDiffer, mapper: CatalogMapper, warnings: RunWarningList): void {
  differ.quarantine(q.productId);
  mapper.quarantine(q);
  warnings.addQuarantine(q);
}

/**
 * Quarantine is for a bad product inside a sound catalog: when no product at all can be stored,
 * the catalog is broken as a whole and the run fails (permanently), listing the first reasons.
 */
function everyProductQuarantined(warnings: RunWarningList): AppError {
  const reasons = (warnings.stored()?.items ?? []).slice(0, 10).map((w) => `${w.path}: ${w.reason}`);
  return new AppError('CATALOG_INVALID', 'no product of the catalog can be stored', { details: reasons });
}

/** A product without an id might be any stored product the catalog lacks, so none was removed. */
function heldRemovalsWarning(count: number): RunWarning {
  const missing = count === 1 ? '1 stored product is' : `${count} stored products are`;
  return { product_id: null, path: '(root)', reason: `${missing} missing from the catalog but not deactivated: a product without an id may be one of them` };
}

/** Thrown inside the write transaction to roll it back when the content turns out unchanged. */
class SameContent extends Error {
  constructor(readonly hash: string) {
    super('catalog content unchanged');
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function resultOf(run: SyncRun): SyncResult {
  return { runId: run.id, status: run.status, synced: run.synced ?? 0, skipped: run.status === 'skipped' };
}

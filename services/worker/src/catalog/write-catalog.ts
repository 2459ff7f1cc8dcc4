import type { CatalogFingerprints, CatalogRemovals, CatalogRunWriter, Db, Integration, RemapCandidate, RunCounts, RunTx, RunWarning, SyncRun } from '@octo-sync/db';
import { CatalogReader, type ProductLimits, type ProductQuarantine, type ShapeHeaders } from '@octo-sync/octo';
import { AppError, asError } from '@octo-sync/platform';
import { CatalogDiffer, isMassRemoval, type MassRemovalRule } from './diff-catalog';
import { DriftWatch } from './drift-watch';
import { CatalogMapper, type CatalogRows } from './map-catalog';
import type { FailedAttempt } from './run-failure';
import { RunWarningList } from './run-warnings';
import { catalogLocaleOf, withLocaleWarnings, writeLocales, type LocalesRead } from './sync-locales';
import type { SyncProgressReporter } from './sync-progress';

/** What reading, diffing and writing one catalog obeys. */
export interface WriteSettings {
  massRemoval: MassRemovalRule;
  /** Upper bound of the catalog write transaction (and of its wait for a pooled connection). */
  writeTimeoutMs: number;
  /** A product past these is quarantined (kept as stored, listed in the run's warnings). */
  productLimits: ProductLimits;
  /** Warnings a run records; more are only counted. */
  maxWarnings: number;
}

interface WriteDeps {
  db: Db;
  settings: WriteSettings;
}

/** A claimed run and what its steps share (`payloadBytes` is set once the body is fetched). */
export interface SyncAttempt extends FailedAttempt {
  integration: Integration;
  progress: SyncProgressReporter;
}

/** One catalog on its way to its write. */
export interface CatalogPass {
  reader: CatalogReader;
  stored: CatalogFingerprints;
  differ: CatalogDiffer;
  mapper: CatalogMapper;
  warnings: RunWarningList;
  /** The fetched body's size and digest. */
  bytes: number;
  digest: string;
  /** A targeted run's product ids: the catalog's hash and payload digest stay as they are. */
  scope?: ReadonlySet<string>;
  /** Loads the stored options and units of the slice's products (those it parsed) into `stored`, before any transaction opens. */
  loadChildren: (rows: CatalogRows) => Promise<void>;
  /** A full sync's drift watch (a targeted run sees a few products, not the catalog's shape). */
  drift?: DriftWatch;
  /** The run's other locales, written in its transaction. */
  locales?: LocalesRead;
}

/** A fetched `GET /products` body. */
export interface Fetched {
  body: Buffer;
  bytes: number;
  digest: string;
  /** The answer's headers of a full sync (its shape records them). */
  headers?: ShapeHeaders;
  /** The answer's `Content-Language`, when sent. */
  contentLanguage?: string;
}

/** What the write decided: committed (the run as finished), or nothing written because the content is the stored one. */
export type WriteOutcome = { kind: 'written'; run: SyncRun } | { kind: 'same-content'; hash: string };

/**
 * Frames the body for reading one product at a time (the catalog is never materialised as a
 * whole: 100 MB of text would be ~450 MB of objects) while the stored fingerprints are loaded.
 */
export async function openCatalog({ db, settings }: WriteDeps, attempt: SyncAttempt, fetched: Fetched, scope?: ReadonlySet<string>): Promise<CatalogPass> {
  // The query is sent first, then the body is framed. Its failure is kept, not thrown, until
  // awaited: nobody listens to the query meanwhile.
  const storedPromise = db.catalog.loadFingerprints(attempt.integration.id).catch(asError);
  const driftPromise = fetched.headers && scope === undefined ? DriftWatch.open(db, attempt.integration, fetched.headers).catch(asError) : undefined;
  // Products are read only once the fingerprints are loaded: a product with the bytes of a stored one is not parsed.
  const fingerprints: { loaded?: CatalogFingerprints } = {};
  let reader: CatalogReader;
  try {
    reader = await CatalogReader.open(fetched.body, settings.productLimits, (rawHash) => fingerprints.loaded?.activeByRaw.get(rawHash));
  } catch (error) {
    for (const ignored of [await storedPromise, await driftPromise]) if (ignored instanceof Error) attempt.log.debug({ err: ignored }, 'stored fingerprints or shape not needed after all');
    throw error;
  }
  const stored = await storedPromise;
  if (stored instanceof Error) throw stored;
  const drift = await driftPromise;
  if (drift instanceof Error) throw drift;
  fingerprints.loaded = stored;
  const loadChildren = (rows: CatalogRows) => {
    const parsed = rows.products.map((p) => p.octo_id).filter((id) => stored.products.has(id));
    return db.catalog.loadChildren(attempt.integration.id, parsed, stored);
  };
  const warnings = new RunWarningList(settings.maxWarnings);
  const pass = { reader, stored, differ: new CatalogDiffer(stored, scope), mapper: new CatalogMapper(true), warnings, bytes: fetched.bytes, digest: fetched.digest, loadChildren };
  return scope === undefined ? { ...pass, ...(drift === undefined ? {} : { drift }) } : { ...pass, scope };
}

/**
 * Parses, checks, maps, diffs and hands the changed rows to the run's writer product by product
 * (a large run's rows are COPY'd into its staging lane slice by slice, while the next slice is
 * parsed), then decides what needs the whole catalog: a structural problem anywhere
 * (CATALOG_INVALID / CATALOG_NOT_JSON, the same errors parseCatalog gives) and the mass-removal
 * guard (which needs every product id) fail the run; unchanged content skips it. All of that
 * happens before the fenced transaction opens, whatever the catalog's size: the transaction then
 * holds only SQL (fence check, the set-based merge, removals, the run's end, publish).
 */
export async function writeCatalog(deps: WriteDeps, attempt: SyncAttempt, pass: CatalogPass): Promise<WriteOutcome> {
  const { db, settings } = deps;
  const { integration, fence, run } = attempt;
  const writer = db.catalog.openWriter({ id: run.id, fence, integrationId: integration.id, previousIntegrationId: integration.previousIntegrationId }, pass.stored);
  try {
    await readSlices(pass, writer, attempt.progress);
    await watchDrift(deps, attempt, pass.drift);
    const decision = decide(deps, attempt, pass);
    if (decision.kind === 'same-content') {
      const change = pass.drift?.change;
      if (change) await db.runs.withFence(integration.id, fence, (tx) => db.shapes.record(tx, integration.id, change), settings.writeTimeoutMs);
      return decision;
    }
    const removals = pass.differ.removals();
    await writer.seal(removals);
    const finished = await db.runs.withFence(integration.id, fence, (tx) => commitRun(deps, attempt, { ...pass, removals }, writer, tx, decision.hash), settings.writeTimeoutMs);
    return { kind: 'written', run: finished };
  } finally {
    // The lane frees itself once the run ends anyway: a failure here only leaves its rows until the next lease.
    await writer.release().catch((err: unknown) => attempt.log.warn({ err }, 'catalog staging lane not released'));
  }
}

/** Maps, diffs and hands the rows to the writer one slice at a time; resolves once the last slice's COPY (if any) has started. */
async function readSlices(pass: CatalogPass, writer: CatalogRunWriter, progress: SyncProgressReporter): Promise<void> {
  const { reader, differ } = pass;
  let rows = noRows();
  progress.processed(0, reader.length);
  for (let i = 0; i < reader.length; i++) {
    if (!mapNext(pass, rows, i)) break; // the catalog will be refused: only check the rest
    if (rows.products.length === SLICE || i === reader.length - 1) {
      await pass.loadChildren(rows);
      await writer.add(differ.classify(rows));
      rows = noRows();
      progress.processed(i + 1, reader.length);
    }
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
  }
  reader.finish();
}

/** Reads, checks and maps the next product into `rows`; false once the catalog is known to be refused. */
function mapNext({ reader, differ, mapper, warnings, drift }: CatalogPass, rows: CatalogRows, index: number): boolean {
  const entry = reader.read();
  if (entry === undefined) return false;
  if (entry.kind === 'product') {
    const held = drift?.product(entry.product, index);
    if (held === undefined) mapper.map(entry.product, rows, entry.rawHash);
    else quarantine(held, differ, mapper, warnings);
    return true;
  }
  drift?.recorder.skipped();
  if (entry.kind === 'unchanged') mapper.unchanged(differ.unchanged(entry.productId));
  else quarantine(entry.quarantine, differ, mapper, warnings);
  return true;
}

/** The run's shape against the accepted one; a `block`ed drift is recorded (and reported) in its own transaction, then fails the run. */
async function watchDrift({ db, settings }: WriteDeps, { integration, fence, run }: SyncAttempt, drift: DriftWatch | undefined): Promise<void> {
  if (drift === undefined) return;
  drift.decide(run.id);
  if (!drift.blocks) return;
  const change = drift.change;
  if (change) await db.runs.withFence(integration.id, fence, (tx) => db.shapes.record(tx, integration.id, change), settings.writeTimeoutMs);
  throw drift.blocked();
}

/** What the whole catalog decides: the content is the stored one, or the run writes with this hash. */
type Decision = { kind: 'same-content'; hash: string } | { kind: 'write'; hash: string | null };

/** Every product is read: the decisions that need the whole catalog (they throw when the run must fail). */
function decide({ settings }: WriteDeps, attempt: SyncAttempt, pass: CatalogPass): Decision {
  const { reader, differ, mapper, warnings } = pass;
  // Products held back for a new shape (drift_policy quarantine) are not a broken catalog.
  if (reader.length > 0 && differ.counts.products.quarantined === reader.length && (pass.drift?.held ?? 0) < reader.length) throw everyProductQuarantined(warnings);
  differ.closeProducts();
  if (differ.heldRemovals > 0) warnings.add(heldRemovalsWarning(differ.heldRemovals));
  const { integration } = attempt;
  // A targeted run saw a few products, not the catalog: it keeps the catalog's hash and digest.
  const digest = pass.scope ? null : mapper.digest();
  if (digest !== null && digest === integration.lastSyncHash) return { kind: 'same-content', hash: digest };
  if (!attempt.run.force && isMassRemoval(differ, settings.massRemoval)) throw massRemovalBlocked(differ);
  return { kind: 'write', hash: digest ?? integration.lastSyncHash };
}

/** In the fenced transaction: the merge, the run's end, and its events (last). */
async function commitRun({ db }: WriteDeps, attempt: SyncAttempt, pass: CatalogPass & { removals: CatalogRemovals }, writer: CatalogRunWriter, tx: RunTx, hash: string | null): Promise<SyncRun> {
  const { differ, warnings } = pass;
  const { integration } = attempt;
  const identity = await writer.merge(tx);
  for (const c of identity.candidates) warnings.add(remapCandidateWarning(c));
  countRemaps(differ.counts, identity.remapped.length);
  const localised = pass.locales ? await writeLocales(db, tx, integration.id, pass.locales, pass.removals) : 0;
  // The drift's shape is written by the run's end statement; its audit entry and feed event come
  // next, before the catalog's events: the transaction's last append follows every row it wrote.
  const shape = pass.drift?.change;
  // A targeted run that wrote no row, in no locale, is skipped, as a full sync of an unchanged catalog is.
  const run = await db.runs.finish(tx, attempt.run, {
    status: pass.scope && !wroteRows(differ.counts) && localised === 0 ? 'skipped' : 'succeeded',
    payloadBytes: pass.bytes,
    payloadDigest: pass.scope ? integration.lastPayloadDigest : payloadDigestOf(pass),
    hash,
    counts: differ.counts,
    warnings: pass.locales ? withLocaleWarnings(warnings.stored(), pass.locales) : warnings.stored(),
    synced: differ.touchedProducts,
    wroteCatalog: !pass.scope,
    ...catalogLocaleOf(pass.locales),
  }, shape && db.shapes.write(integration.id, shape));
  if (shape) await db.shapes.announce(tx, integration.id, shape);
  await writer.publish(tx);
  return run;
}

/** Whether any product, option or unit was created, updated, removed or remapped (final once the removals are known). */
function wroteRows(counts: RunCounts): boolean {
  return (counts.products.remapped ?? 0) > 0 || [counts.products, counts.options, counts.units].some((c) => c.created + c.updated + c.removed > 0);
}

/**
 * A product the supplier re-keyed (matched 1:1 in the transaction) is reported as remapped, not as
 * one product created and one removed. The mass-removal guard, decided before the transaction,
 * counted its old id among the products that leave: a remap counts toward it like a removal.
 */
function countRemaps(counts: RunCounts, remapped: number): void {
  if (remapped === 0) return;
  counts.products.remapped = remapped;
  counts.products.created -= remapped;
  counts.products.removed -= remapped;
}

/** While products are quarantined the next run re-reads the same bytes, to report them again. */
export function payloadDigestOf(pass: CatalogPass): string | null {
  return pass.warnings.any ? null : pass.digest;
}

/** Products mapped, diffed and handed to the writer together (whole products: ~26 rows each). */
const SLICE = 1_000;
/** Products mapped between two yields, so that the event loop (and a slice's COPY) keep moving meanwhile. */
const YIELD_EVERY = 25;

const noRows = (): CatalogRows => ({ products: [], options: [], units: [] });

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

function massRemovalBlocked(differ: CatalogDiffer): AppError {
  return new AppError(
    'MASS_REMOVAL_BLOCKED',
    `the catalog would deactivate ${differ.counts.products.removed} of ${differ.activeProductsBefore} active products (a re-keyed product counts as one); ` +
      'nothing was written. If this is intended, an admin can force the sync',
  );
}

const CANDIDATE_WHY: Record<RemapCandidate['reason'], string> = {
  ambiguous: 'its reference is not unique',
  no_reference: 'no reference to match by',
  taken: 'the product with its reference took a linked integration’s key',
};

/** A product that left beside others that appeared, not matched 1:1 by reference: an admin decides (remap candidates). */
function remapCandidateWarning(c: RemapCandidate): RunWarning {
  return { product_id: c.from, path: '(root)', reason: `left the catalog, maybe re-keyed as ${c.to.join(', ')} (${CANDIDATE_WHY[c.reason]}): listed as a remap candidate` };
}

/** A product without an id might be any stored product the catalog lacks, so none was removed. */
function heldRemovalsWarning(count: number): RunWarning {
  const missing = count === 1 ? '1 stored product is' : `${count} stored products are`;
  return { product_id: null, path: '(root)', reason: `${missing} missing from the catalog but not deactivated: a product without an id may be one of them` };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

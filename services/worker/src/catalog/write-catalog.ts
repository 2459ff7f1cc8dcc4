import type { CatalogCopyWriter, CatalogFingerprints, Db, Integration, RunCounts, RunWarning, SyncRun } from '@octo-sync/db';
import { CatalogReader, type ProductLimits, type ProductQuarantine } from '@octo-sync/octo';
import { AppError, asError } from '@octo-sync/platform';
import { CatalogDiffer, isMassRemoval, type MassRemovalRule } from './diff-catalog';
import { CatalogMapper, type CatalogRows } from './map-catalog';
import type { FailedAttempt } from './run-failure';
import { RunWarningList } from './run-warnings';
import type { SyncProgressReporter } from './sync-progress';

/** What reading, diffing and writing one catalog obeys. */
export interface WriteSettings {
  massRemoval: MassRemovalRule;
  /** Upper bound of the catalog write transaction. */
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

/** One catalog on its way through the write transaction. */
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
  /**
   * Loads the stored options and units of the slice's products (those it parsed) into `stored`,
   * on the fenced transaction's connection (or on the pool before it opens): a run never waits for
   * a second pooled connection while it holds one.
   */
  loadChildren: (client: RunReader, rows: CatalogRows) => Promise<void>;
}

/** A fetched `GET /products` body. */
export interface Fetched {
  body: Buffer;
  bytes: number;
  digest: string;
}

/** What the write transaction decided: committed (the run as finished), or rolled back because the content is the stored one. */
export type WriteOutcome = { kind: 'written'; run: SyncRun } | { kind: 'same-content'; hash: string };

/** The connection of a fenced write transaction. */
type RunClient = Parameters<Db['runs']['finish']>[0];
/** A slice's changed rows, as the writer takes them. */
type SliceChanges = Parameters<CatalogCopyWriter['upsert']>[0];
/** What reads a run's stored options and units: its transaction's connection, or the pool before it opens. */
type RunReader = Pick<RunClient, 'query'>;

/**
 * Frames the body for reading one product at a time (the catalog is never materialised as a
 * whole: 100 MB of text would be ~450 MB of objects) while the stored fingerprints are loaded.
 */
export async function openCatalog({ db, settings }: WriteDeps, attempt: SyncAttempt, fetched: Fetched, scope?: ReadonlySet<string>): Promise<CatalogPass> {
  // The query is sent first, then the body is framed. Its failure is kept, not thrown, until
  // awaited: nobody listens to the query meanwhile.
  const storedPromise = db.catalog.loadFingerprints(attempt.integration.id).catch(asError);
  // Products are read only once the fingerprints are loaded: a product with the bytes of a stored one is not parsed.
  const fingerprints: { loaded?: CatalogFingerprints } = {};
  let reader: CatalogReader;
  try {
    reader = await CatalogReader.open(fetched.body, settings.productLimits, (rawHash) => fingerprints.loaded?.activeByRaw.get(rawHash));
  } catch (error) {
    const ignored = await storedPromise;
    if (ignored instanceof Error) attempt.log.debug({ err: ignored }, 'fingerprints not needed after all');
    throw error;
  }
  const stored = await storedPromise;
  if (stored instanceof Error) throw stored;
  fingerprints.loaded = stored;
  const loadChildren = (client: RunReader, rows: CatalogRows) => {
    const parsed = rows.products.map((p) => p.octo_id).filter((id) => stored.products.has(id));
    return db.catalog.loadChildren(client, attempt.integration.id, parsed, stored);
  };
  const warnings = new RunWarningList(settings.maxWarnings);
  const pass = { reader, stored, differ: new CatalogDiffer(stored, scope), mapper: new CatalogMapper(true), warnings, bytes: fetched.bytes, digest: fetched.digest, loadChildren };
  return scope === undefined ? pass : { ...pass, scope };
}

/**
 * Parses, checks, maps, diffs and writes product by product, then decides what needs the whole
 * catalog before anything commits: a structural problem anywhere (CATALOG_INVALID /
 * CATALOG_NOT_JSON, the same errors parseCatalog gives) and the mass-removal guard (which needs
 * every product id) fail the run; unchanged content skips it. A catalog of one slice is read and
 * decided before its fenced transaction opens, which then holds only its SQL (upsert, removals,
 * the run's end, publish); a larger one is written in the transaction slice by slice (Postgres
 * runs slice N while slice N+1 is parsed and hashed), and unchanged content rolls it back.
 */
export async function writeCatalog(deps: WriteDeps, attempt: SyncAttempt, pass: CatalogPass): Promise<WriteOutcome> {
  const { db, settings } = deps;
  const { integration, fence } = attempt;
  const small = pass.reader.length <= SLICE ? await readWhole(pass, db.pool, attempt.progress) : undefined;
  const early = small === undefined ? undefined : decide(deps, attempt, pass);
  if (early?.kind === 'same-content') return early;
  const write = async (client: RunClient): Promise<WriteOutcome> => {
    const writer = await db.catalog.openWriter(client, integration.id, pass.stored);
    if (small !== undefined) await writer.upsert(small);
    else await writeSlices(pass, client, writer, attempt.progress);
    return concludeWrite(deps, attempt, pass, writer, client, early ?? decide(deps, attempt, pass));
  };
  try {
    return await db.runs.withFence(integration.id, fence, async (client) => rollBackUnlessWritten(await write(client)), settings.writeTimeoutMs);
  } catch (error) {
    if (error instanceof RollBack) return error.outcome;
    throw error;
  }
}

/**
 * withFence commits whatever its callback returns and rolls back only when it throws; an
 * outcome that must not commit leaves the callback as this signal, which {@link writeCatalog}
 * turns back into the outcome at once: it never reaches the run's error handling.
 */
class RollBack extends Error {
  constructor(readonly outcome: WriteOutcome) {
    super('catalog write rolled back');
  }
}

function rollBackUnlessWritten(outcome: WriteOutcome): WriteOutcome {
  if (outcome.kind !== 'written') throw new RollBack(outcome);
  return outcome;
}

/** Maps, diffs and hands the rows to the writer one slice at a time; the last slice is written when this resolves. */
async function writeSlices(pass: CatalogPass, client: RunClient, writer: CatalogCopyWriter, progress: SyncProgressReporter): Promise<void> {
  const { reader, differ, loadChildren } = pass;
  // The slice being written: its failure is kept, not thrown, until it is awaited (a rejection
  // nobody listens to while the next slice is mapped would end the process).
  let pending: Promise<Error | undefined> = Promise.resolve(undefined);
  const written = async () => {
    const failure = await pending;
    if (failure) throw failure;
  };
  try {
    let rows = noRows();
    progress.processed(0, reader.length);
    for (let i = 0; i < reader.length; i++) {
      if (!mapNext(pass, rows)) break; // the catalog will be refused: only check the rest
      if (rows.products.length === SLICE || i === reader.length - 1) {
        await loadChildren(client, rows); // queued behind the previous slice's statements
        const changed = differ.classify(rows);
        rows = noRows();
        await written();
        pending = writer.upsert(changed).then(() => undefined, asError);
        progress.processed(i + 1, reader.length);
      }
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
    }
    reader.finish();
  } catch (error) {
    await pending; // the rollback answers for it
    throw error;
  }
  await written();
}

/**
 * A catalog of one slice, read whole before its transaction opens: parsed, mapped, its stored
 * options and units read on the pool (no connection is held yet), diffed. Returns its changed rows.
 */
async function readWhole(pass: CatalogPass, pool: RunReader, progress: SyncProgressReporter): Promise<SliceChanges> {
  const { reader, differ } = pass;
  const rows = noRows();
  progress.processed(0, reader.length);
  for (let i = 0; i < reader.length; i++) {
    if (!mapNext(pass, rows)) break; // the catalog will be refused: only check the rest
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
  }
  reader.finish();
  await pass.loadChildren(pool, rows);
  progress.processed(reader.length, reader.length);
  return differ.classify(rows);
}

/** Reads, checks and maps the next product into `rows`; false once the catalog is known to be refused. */
function mapNext({ reader, differ, mapper, warnings }: CatalogPass, rows: CatalogRows): boolean {
  const entry = reader.read();
  if (entry === undefined) return false;
  if (entry.kind === 'product') mapper.map(entry.product, rows, entry.rawHash);
  else if (entry.kind === 'unchanged') mapper.unchanged(differ.unchanged(entry.productId));
  else quarantine(entry.quarantine, differ, mapper, warnings);
  return true;
}

/** What the whole catalog decides: the content is the stored one, or the run writes with this hash. */
type Decision = { kind: 'same-content'; hash: string } | { kind: 'write'; hash: string | null };

/** Every product is read: the decisions that need the whole catalog (they throw when the run must fail). */
function decide({ settings }: WriteDeps, attempt: SyncAttempt, pass: CatalogPass): Decision {
  const { reader, differ, mapper, warnings } = pass;
  if (reader.length > 0 && differ.counts.products.quarantined === reader.length) throw everyProductQuarantined(warnings);
  differ.closeProducts();
  if (differ.heldRemovals > 0) warnings.add(heldRemovalsWarning(differ.heldRemovals));
  const { integration } = attempt;
  // A targeted run saw a few products, not the catalog: it keeps the catalog's hash and digest.
  const digest = pass.scope ? null : mapper.digest();
  if (digest !== null && digest === integration.lastSyncHash) return { kind: 'same-content', hash: digest };
  if (!attempt.run.force && isMassRemoval(differ, settings.massRemoval)) throw massRemovalBlocked(differ);
  return { kind: 'write', hash: digest ?? integration.lastSyncHash };
}

/** Every slice is written and the catalog decided: removals, the run's end, and its events. */
async function concludeWrite({ db }: WriteDeps, attempt: SyncAttempt, pass: CatalogPass, writer: CatalogCopyWriter, client: RunClient, decision: Decision): Promise<WriteOutcome> {
  if (decision.kind === 'same-content') return decision;
  const { differ, warnings } = pass;
  const { integration } = attempt;
  await writer.remove(differ.removals());
  // A targeted run that wrote no row is skipped, as a full sync of an unchanged catalog is.
  const run = await db.runs.finish(client, attempt.run, {
    status: pass.scope && !wroteRows(differ.counts) ? 'skipped' : 'succeeded',
    payloadBytes: pass.bytes,
    payloadDigest: pass.scope ? integration.lastPayloadDigest : payloadDigestOf(pass),
    hash: decision.hash,
    counts: differ.counts,
    warnings: warnings.stored(),
    synced: differ.touchedProducts,
    wroteCatalog: !pass.scope,
  });
  await writer.publish();
  return { kind: 'written', run };
}

/** Whether any product, option or unit was created, updated or removed (final once the removals are known). */
function wroteRows(counts: RunCounts): boolean {
  return [counts.products, counts.options, counts.units].some((c) => c.created + c.updated + c.removed > 0);
}

/** While products are quarantined the next run re-reads the same bytes, to report them again. */
export function payloadDigestOf(pass: CatalogPass): string | null {
  return pass.warnings.any ? null : pass.digest;
}

/** Products mapped, diffed and handed to the writer together (whole products: ~26 rows each). */
const SLICE = 1_000;
/** Products mapped between two yields, so that the writer's statements keep Postgres busy meanwhile. */
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
    `the catalog would deactivate ${differ.counts.products.removed} of ${differ.activeProductsBefore} active products; ` +
      'nothing was written. If this is intended, an admin can force the sync',
  );
}

/** A product without an id might be any stored product the catalog lacks, so none was removed. */
function heldRemovalsWarning(count: number): RunWarning {
  const missing = count === 1 ? '1 stored product is' : `${count} stored products are`;
  return { product_id: null, path: '(root)', reason: `${missing} missing from the catalog but not deactivated: a product without an id may be one of them` };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

import type { CatalogRemovals, Db, LocaleWrite, LocalisedRow, RunOutcome, RunTx, RunWarning, RunWarnings, StoredLocale } from '@octo-sync/db';
import { answersLocale, CatalogReader, isSupplierError, type ProductLimits, type SupplierClient, type SupplierTarget } from '@octo-sync/octo';
import { AppError } from '@octo-sync/platform';
import { localisedContent } from './localised-content';
import type { SyncAttempt } from './write-catalog';

/*
 * The integration's other locales: the first locale's answer is the catalog (structure and rows);
 * each other locale's answer gives only the localised fields of the entities it lists, stored per
 * (entity, locale) with their own hash. Each is read before the catalog's own answer, so that its
 * rows commit in the run's one fenced transaction, with the catalog's.
 */

/** What the run's locales add to its write: the other locales' rows and digests, the catalog's language, and what went wrong with them. */
export interface LocalesRead {
  /** The locales after the first, as the run's claim read them. */
  others: readonly string[];
  /** Locales no longer listed that still have rows: deleted in the run's transaction. */
  dropped: string[];
  writes: LocaleWrite[];
  warnings: RunWarning[];
  /** The language of the first locale's answer (its `Content-Language`, or the asked locale without one); set once it is fetched. */
  catalogLocale?: string;
}

interface LocaleDeps {
  db: Db;
  supplier: SupplierClient;
  settings: { productLimits: ProductLimits };
}

/** Products read between two yields of the event loop. */
const YIELD_EVERY = 50;

/**
 * Fetches `GET /products` once per locale after the first (`Accept-Language`, `octo/content`),
 * through the run's budgeted client. An answer with the bytes of the last stored one is skipped
 * unparsed; otherwise products whose bytes are those last stored are skipped unparsed, the others
 * give their localised fields. An answer in another language than asked, a supplier error, or a
 * catalog that cannot be read is a warning: the locale keeps its previous content.
 */
export async function readLocales(deps: LocaleDeps, attempt: SyncAttempt, target: SupplierTarget, signal: AbortSignal | undefined): Promise<LocalesRead> {
  return readEachLocale(deps, attempt, (locale) => readLocale(deps, attempt, target, locale, signal));
}

/** A targeted run's products in one locale: their bodies as one catalog array, and each answer's `Content-Language`. */
export interface NamedAnswer {
  body: Buffer;
  contentLanguages: ReadonlyArray<string | undefined>;
}

/**
 * A targeted run's products in each locale after the first, fetched by `fetchNamed` (through the
 * run's budgeted client, as the first locale's). Their rows are diffed against those stored as a
 * full run's are, and the same failures are warnings; the locale's last full answer (its digest)
 * stays as it was, as the catalog's does.
 */
export async function readNamedLocales(deps: LocaleDeps, attempt: SyncAttempt, productIds: readonly string[], fetchNamed: (locale: string) => Promise<NamedAnswer>): Promise<LocalesRead> {
  return readEachLocale(deps, attempt, async (locale) => {
    if (productIds.length === 0) return undefined;
    const [stored, named] = await Promise.all([deps.db.locales.load(attempt.integration.id, locale, productIds), fetchNamed(locale)]);
    for (const served of named.contentLanguages) checkLanguage(served, locale);
    const { rows } = await localisedRows(named.body, stored, deps.settings.productLimits);
    return { locale, rows };
  });
}

/** Reads each locale after the first (a locale that cannot be read is a warning and keeps its previous content), and finds those dropped. */
async function readEachLocale(deps: LocaleDeps, attempt: SyncAttempt, readOne: (locale: string) => Promise<LocaleWrite | undefined>): Promise<LocalesRead> {
  const others = attempt.integration.locales.slice(1);
  const dropped = (await deps.db.locales.storedLocales(attempt.integration.id)).filter((locale) => !others.includes(locale));
  const read: LocalesRead = { others, dropped, writes: [], warnings: [] };
  for (const locale of others) {
    try {
      const write = await readOne(locale);
      if (write !== undefined) read.writes.push(write);
    } catch (error: unknown) {
      // Budget waits and aborts are the run's business (AppError, not SupplierError): they propagate.
      if (!isSupplierError(error) && !(error instanceof AppError && error.code.startsWith('CATALOG_'))) throw error;
      attempt.log.warn({ locale, code: error.code }, 'locale not synced, its previous content kept');
      read.warnings.push(localeWarning(locale, `not synced (${error.code}: ${error.message}); its previous content is kept`));
    }
  }
  return read;
}

async function readLocale(deps: LocaleDeps, attempt: SyncAttempt, target: SupplierTarget, locale: string, signal: AbortSignal | undefined): Promise<LocaleWrite | undefined> {
  const integrationId = attempt.integration.id;
  const [stored, fetched] = await Promise.all([deps.db.locales.load(integrationId, locale), deps.supplier.fetchProducts(target, signal ? { locale, signal } : { locale })]);
  checkLanguage(fetched.octoHeaders.contentLanguage, locale);
  if (fetched.digest === stored.payloadDigest) {
    attempt.log.debug({ locale, bytes: fetched.bytes }, 'locale unchanged (same bytes), skipped');
    return undefined;
  }
  const { rows, complete } = await localisedRows(fetched.body, stored, deps.settings.productLimits);
  // While a product of the answer is left out (quarantined), the same bytes are read again next time.
  return { locale, rows, payloadDigest: complete ? fetched.digest : null };
}

/** An answer in another language than asked is not stored under the asked one. */
function checkLanguage(served: string | undefined, locale: string): void {
  if (!answersLocale(served, locale)) throw new AppError('CATALOG_WRONG_LANGUAGE', `the supplier answered in ${served} (Content-Language), not stored as ${locale}`);
}

/** The rows of the products whose bytes changed, and whether every product could be read. */
async function localisedRows(body: Buffer, stored: StoredLocale, limits: ProductLimits): Promise<{ rows: LocalisedRow[]; complete: boolean }> {
  const byRaw = new Map<string, string>();
  for (const [id, p] of stored.products) if (p.rawHash !== null) byRaw.set(p.rawHash, id);
  const reader = await CatalogReader.open(body, limits, (rawHash) => byRaw.get(rawHash));
  const rows: LocalisedRow[] = [];
  let complete = true;
  for (let i = 0; i < reader.length; i++) {
    const entry = reader.read();
    if (entry === undefined) break;
    if (entry.kind === 'quarantined') complete = false;
    if (entry.kind !== 'product') continue;
    const productId = entry.product.id;
    const before = stored.products.get(productId);
    for (const e of localisedContent(entry.product)) {
      const own = e.optionId === '';
      const row: LocalisedRow = { product_octo_id: productId, option_octo_id: e.optionId, unit_octo_id: e.unitId, content: e.content, content_hash: e.contentHash, raw_hash: own && e.unitId === '' ? entry.rawHash : null };
      if (own && before?.contentHash === e.contentHash) row.bytes_only = true;
      rows.push(row);
    }
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  reader.finish();
  return { rows, complete };
}

/**
 * The first locale's answer: the catalog's language. An answer in another language than asked
 * still gives the catalog's structure (there is no other), but its content is served as what it is.
 */
export function noteCatalogLocale(read: LocalesRead, attempt: SyncAttempt, contentLanguage: string | undefined): void {
  const asked = attempt.integration.locales[0] ?? 'en';
  const served = contentLanguage?.split(',')[0]?.trim();
  read.catalogLocale = answersLocale(served, asked) ? asked : served;
  if (read.catalogLocale !== asked) read.warnings.push(localeWarning(asked, `answered in ${read.catalogLocale} (Content-Language): the catalog's content is stored as ${read.catalogLocale}`));
}

/**
 * In the run's fenced transaction: the dropped locales' rows gone, the locales' rows, digests and
 * feed events, then the rows of the entities the run `removed` gone. Returns how many entities
 * changed. The catalog's language is recorded by the run's end ({@link catalogLocaleOf}).
 */
export async function writeLocales(db: Db, tx: RunTx, integrationId: string, read: LocalesRead, removed?: CatalogRemovals): Promise<number> {
  await db.locales.drop(tx, integrationId, read.dropped);
  let changed = 0;
  for (const write of read.writes) changed += await db.locales.write(tx, integrationId, write);
  if (removed) await db.locales.forgetRemoved(tx, integrationId, read.others, removed);
  return changed;
}

/** The catalog's language for the run's end (`RunOutcome.catalogLocale`), once the first locale's answer noted it. */
export function catalogLocaleOf(read: LocalesRead | undefined): Pick<RunOutcome, 'catalogLocale'> {
  return read?.catalogLocale === undefined ? {} : { catalogLocale: read.catalogLocale };
}

/** The run's warnings with those of its locales. */
export function withLocaleWarnings(stored: RunWarnings | null, read: LocalesRead): RunWarnings | null {
  if (read.warnings.length === 0) return stored;
  return { items: [...(stored?.items ?? []), ...read.warnings], omitted: stored?.omitted ?? 0 };
}

function localeWarning(locale: string, reason: string): RunWarning {
  return { product_id: null, path: `(locale ${locale})`, reason: `locale ${locale} ${reason}` };
}

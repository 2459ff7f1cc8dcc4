import type { CatalogFingerprints, Db, RunWarning, SyncRun } from '@octo-sync/db';
import { SupplierError, type FetchedBody, type SupplierClient, type SupplierTarget } from '@octo-sync/octo';
import { AppError, asError } from '@octo-sync/platform';
import { readNamedLocales, type NamedAnswer } from './sync-locales';
import { openCatalog, writeCatalog, type Fetched, type SyncAttempt, type WriteSettings } from './write-catalog';

/** What a targeted run needs: the write path's, and how many products it fetches at once. */
export interface TargetedDeps {
  db: Db;
  supplier: SupplierClient;
  settings: WriteSettings & { targetedConcurrency: number };
}

/**
 * A targeted run (a refresh of named products): `GET /products/{id}` for each, then the catalog
 * write path on those alone. A product the supplier says it no longer has is deactivated, as a
 * full sync deactivates one that left the catalog (the mass-removal guard weighs it against every
 * active product); every other product, and the catalog's hash, stay as they are. A plain 404
 * (no OCTO error) counts as gone only when another named product was found: a 404 for every one
 * more likely means the supplier does not serve `GET /products/{id}`, and the run fails instead.
 * Each id counted as gone is named in the run's warnings; a run that changed nothing is `skipped`.
 * The products found are then asked in each other locale, as a full sync asks the catalog.
 */
export async function syncTargeted(deps: TargetedDeps, attempt: SyncAttempt, target: SupplierTarget, signal: AbortSignal | undefined): Promise<SyncRun> {
  const { run, log, integration } = attempt;
  const { fetched, unknown } = await fetchNamed(deps, run.productIds, target, { locale: integration.locales[0] ?? 'en', signal });
  attempt.payloadBytes = fetched.bytes;
  const found = run.productIds.filter((id) => !unknown.some((u) => u.productId === id));
  const locales = await readNamedLocales(deps, attempt, found, async (locale) => (await fetchNamed(deps, found, target, { locale, signal })).answer);
  const pass = { ...(await openCatalog(deps, attempt, fetched, new Set(run.productIds))), locales };
  for (const gone of unknown) pass.warnings.add(unknownProductWarning(gone, pass.stored));
  const outcome = await writeCatalog(deps, attempt, pass);
  // A targeted pass never compares the catalog's hash, so it always commits.
  if (outcome.kind !== 'written') throw new Error('a targeted run was rolled back as unchanged');
  log.info({ products: run.productIds.length, counts: outcome.run.counts }, 'products refreshed');
  return outcome.run;
}

/** A named product the supplier does not know, and whether it said so with a plain 404. */
interface UnknownProduct {
  productId: string;
  plain404: boolean;
}

/** The named products' bodies in `locale` as one catalog array (those gone left out, and listed), fetched a few at a time. */
async function fetchNamed(
  { supplier, settings }: TargetedDeps,
  productIds: readonly string[],
  target: SupplierTarget,
  { locale, signal }: { locale: string; signal: AbortSignal | undefined },
): Promise<{ fetched: Fetched; answer: NamedAnswer; unknown: UnknownProduct[] }> {
  const answers = Array.from<unknown, FetchedBody | null | SupplierError>({ length: productIds.length }, () => null);
  let next = 0;
  const fetchOne = async (): Promise<void> => {
    for (let i = next++; i < productIds.length; i = next++) {
      const fetched = await supplier.fetchProduct(target, productIds[i]!, signal ? { locale, signal } : { locale }).catch(plain404);
      if (fetched !== null && !(fetched instanceof SupplierError)) checkProductId(fetched.body, productIds[i]!);
      answers[i] = fetched;
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.targetedConcurrency, productIds.length) }, fetchOne));
  const found = answers.filter((b): b is FetchedBody => b !== null && !(b instanceof SupplierError));
  const notFound = answers.find((b): b is SupplierError => b instanceof SupplierError);
  if (found.length === 0 && notFound) throw noSingleProducts(notFound);
  const body = Buffer.concat([Buffer.from('['), ...found.flatMap((b, i) => (i === 0 ? [b.body] : [COMMA, b.body])), Buffer.from(']')]);
  const unknown = productIds.flatMap((productId, i) => (answers[i] === null ? [{ productId, plain404: false }] : answers[i] instanceof SupplierError ? [{ productId, plain404: true }] : []));
  const contentLanguages = found.map((b) => b.octoHeaders.contentLanguage);
  return { fetched: { body, bytes: body.length, digest: '' }, answer: { body, contentLanguages }, unknown };
}

/** The warning naming a product the supplier does not know, saying what the run does about it. */
function unknownProductWarning({ productId, plain404 }: UnknownProduct, stored: CatalogFingerprints): RunWarning {
  const answered = plain404 ? 'answered a plain 404 (another named product was found)' : 'answered that it does not know this product';
  const before = stored.products.get(productId);
  const outcome = before === undefined ? 'nothing is stored under this id' : before.active ? 'it is deactivated' : 'it was inactive already';
  return { product_id: productId, path: 'productIds', reason: `GET /products/{id} ${answered}: the supplier does not know this product; ${outcome}` };
}

/** A plain 404 (no OCTO error), kept to be judged against the other answers; anything else is thrown. */
function plain404(error: unknown): SupplierError {
  if (error instanceof SupplierError && error.status === 404) return error;
  throw error;
}

function noSingleProducts(cause: SupplierError): SupplierError {
  return new SupplierError(
    'SUPPLIER_HTTP_ERROR',
    'GET /products/{id} answered a plain 404 (no OCTO error) for every named product: the supplier may not serve single products; ' +
      'nothing was deactivated. Trigger a full sync instead',
    { status: 404, cause },
  );
}

const COMMA = Buffer.from(',');

/** A product answered under another id would be written in place of the one asked for: refused. */
function checkProductId(body: Buffer, productId: string): void {
  let answered: unknown;
  try {
    answered = (JSON.parse(body.toString('utf8')) as { id?: unknown } | null)?.id;
  } catch (error) {
    throw new AppError('CATALOG_NOT_JSON', `GET /products/{id} for ${JSON.stringify(productId)} did not answer JSON`, { cause: asError(error) });
  }
  if (answered !== productId) {
    throw new AppError('CATALOG_INVALID', `GET /products/{id} for ${JSON.stringify(productId)} answered another product (id ${JSON.stringify(answered)})`);
  }
}

import type { Db, SyncRun } from '@octo-sync/db';
import type { FetchedBody, SupplierClient, SupplierTarget } from '@octo-sync/octo';
import { AppError, asError } from '@octo-sync/platform';
import { openCatalog, writeCatalog, type Fetched, type SyncAttempt, type WriteSettings } from './write-catalog';

/** What a targeted run needs: the write path's, and how many products it fetches at once. */
export interface TargetedDeps {
  db: Db;
  supplier: SupplierClient;
  settings: WriteSettings & { targetedConcurrency: number };
}

/**
 * A targeted run (a refresh of named products): `GET /products/{id}` for each, then the catalog
 * write path on those alone. A product the supplier answers 404 for is deactivated, as a full
 * sync deactivates one that left the catalog (the mass-removal guard weighs it against every
 * active product); every other product, and the catalog's hash, stay as they are.
 */
export async function syncTargeted(deps: TargetedDeps, attempt: SyncAttempt, target: SupplierTarget, signal: AbortSignal | undefined): Promise<SyncRun> {
  const { run, log } = attempt;
  const fetched = await fetchNamed(deps, run.productIds, target, signal);
  attempt.payloadBytes = fetched.bytes;
  const pass = await openCatalog(deps, attempt, fetched, new Set(run.productIds));
  const outcome = await writeCatalog(deps, attempt, pass);
  // A targeted pass never compares the catalog's hash, so it always commits.
  if (outcome.kind !== 'written') throw new Error('a targeted run was rolled back as unchanged');
  log.info({ products: run.productIds.length, counts: outcome.run.counts }, 'products refreshed');
  return outcome.run;
}

/** The named products' bodies as one catalog array (404s left out), fetched a few at a time. */
async function fetchNamed({ supplier, settings }: TargetedDeps, productIds: readonly string[], target: SupplierTarget, signal: AbortSignal | undefined): Promise<Fetched> {
  const bodies = Array.from<unknown, FetchedBody | null>({ length: productIds.length }, () => null);
  let next = 0;
  const fetchOne = async (): Promise<void> => {
    for (let i = next++; i < productIds.length; i = next++) {
      const fetched = await supplier.fetchProduct(target, productIds[i]!, signal ? { signal } : {});
      if (fetched) checkProductId(fetched.body, productIds[i]!);
      bodies[i] = fetched;
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.targetedConcurrency, productIds.length) }, fetchOne));
  const found = bodies.filter((b): b is FetchedBody => b !== null);
  const body = Buffer.concat([Buffer.from('['), ...found.flatMap((b, i) => (i === 0 ? [b.body] : [COMMA, b.body])), Buffer.from(']')]);
  return { body, bytes: body.length, digest: '' };
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

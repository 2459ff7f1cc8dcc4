import type { OctoProduct } from './catalog';
import { CatalogReader } from './catalog-reader';
import type { FetchedBody } from './catalog-body';
import { catalogDifferences } from './catalog-differences';
import { canonicalHash } from './canonical-json';
import { checkAvailability, checkCurrencies, type AvailabilityReport, type CurrencyReport, type Probe } from './conformance-availability';
import { checkLocales, checkUnknownProduct, type LocaleReport, type UnknownProductReport } from './conformance-content';
import { LATENCY_THRESHOLDS_MS, latencyReport, type LatencyReport } from './conformance-latency';
import { capabilityIds, catalogQuirks } from './conformance-quirks';
import { isSupplierError, type SupplierError } from './errors';
import type { SupplierClient } from './outbound';
import type { SupplierTarget } from './outbound-config';
import type { ProductLimits } from './product-quarantine';

/** What a conformance check obeys (a sync's own settings, so that it predicts the sync). */
export interface ConformanceSettings {
  /** The `Octo-Capabilities` a sync requests (their content and pricing are checked). */
  capabilities: string;
  productLimits: ProductLimits;
  /** An answer slower than this is reported. */
  slowMs: number;
  /** Differing paths listed at most. */
  maxDifferences: number;
  /** Languages (BCP 47) to ask the catalog in, one `GET /products` each. */
  locales?: readonly string[];
  /** Currencies (ISO 4217) to ask availability in, one `POST /availability` each. */
  currencies?: readonly string[];
}

/**
 * What a sync of this endpoint would do, for the supplier's engineer: the counts it would store,
 * the errors that would fail it, the quirks it tolerates (`warnings`), and whether two fetches
 * give the same canonical hash (`stable`; null when the second fetch could not be compared).
 */
export interface ConformanceReport {
  ok: boolean;
  products: number;
  options: number;
  units: number;
  /** Products a sync would keep as stored because they cannot be stored as sent. */
  quarantined: number;
  bytes: number;
  fetch_ms: number;
  stable: boolean | null;
  /** The first error that fails a sync: its stable code, its message and the supplier's HTTP status. */
  failure: { code: string; message: string; status?: number } | null;
  /** Where the two fetches differ, when they do. */
  differences: string[];
  errors: string[];
  warnings: string[];
  /** What availability answers show a pull (null when the catalog could not be read or is empty). */
  availability: AvailabilityReport | null;
  /** How an unknown product id is answered (null when the catalog could not be read or is empty). */
  unknown_product: UnknownProductReport | null;
  /** Per asked language, whether the supplier answered in it. */
  locales: LocaleReport[];
  /** Per asked currency, whether prices came back in it. */
  currencies: CurrencyReport[];
  /** The supplier's answer times per endpoint (not our budget's waits), beside the marketplaces' thresholds (null: not asked, or no answer). */
  latency: { catalog: LatencyReport | null; availability: LatencyReport | null; calendar: LatencyReport | null };
}

/** A catalog read as a sync reads it: storable products, and a warning per quarantined one. */
interface ReadCatalog {
  products: OctoProduct[];
  quarantines: string[];
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: SupplierError };

/** A supplier error as an outcome; anything else is our bug and is thrown. */
function failure(error: unknown): { ok: false; error: SupplierError } {
  if (!isSupplierError(error)) throw error;
  return { ok: false, error };
}

/** The report's lines for one error: one per problem of an invalid catalog. */
function errorLines(error: SupplierError): string[] {
  return error.details.length > 0 ? error.details.map((d) => `${error.code}: ${d}`) : [`${error.code}: ${error.message}`];
}

function fail(report: ConformanceReport, error: SupplierError, status: number | undefined, prefix = ''): void {
  report.errors.push(...errorLines(error).map((line) => prefix + line));
  const httpStatus = error.status ?? status;
  report.failure ??= { code: error.code, message: error.message, ...(httpStatus === undefined ? {} : { status: httpStatus }) };
}

async function fetchOnce(client: SupplierClient, target: SupplierTarget): Promise<Outcome<FetchedBody>> {
  try {
    return { ok: true, value: await client.fetchProducts(target) };
  } catch (error) {
    return failure(error);
  }
}

async function read(body: Buffer, limits: ProductLimits): Promise<Outcome<ReadCatalog>> {
  try {
    const reader = await CatalogReader.open(body, limits);
    const result: ReadCatalog = { products: [], quarantines: [] };
    for (let i = 0; i < reader.length; i++) {
      const entry = reader.read();
      if (entry === undefined) break;
      if (entry.kind === 'product') result.products.push(entry.product);
      else if (entry.kind === 'quarantined') result.quarantines.push(`product ${JSON.stringify(entry.quarantine.productId ?? null)} at ${entry.quarantine.path} would be quarantined (kept as stored): ${entry.quarantine.reason}`);
    }
    reader.finish();
    return { ok: true, value: result };
  } catch (error) {
    return failure(error);
  }
}

function headerWarnings(fetched: FetchedBody, settings: ConformanceSettings): string[] {
  const warnings: string[] = [];
  const { octoCapabilities, contentLanguage } = fetched.octoHeaders;
  if (octoCapabilities === undefined) warnings.push('the answer has no Octo-Capabilities header (required by OCTO; tolerated)');
  if (contentLanguage === undefined && capabilityIds(settings.capabilities).has('octo/content')) {
    warnings.push('the answer has no Content-Language header although octo/content was requested (required by OCTO; tolerated)');
  }
  if (fetched.contentType !== undefined && !/json/i.test(fetched.contentType)) warnings.push(`the answer's Content-Type is ${JSON.stringify(fetched.contentType)}, not application/json (tolerated)`);
  if (fetched.latencyMs > settings.slowMs) warnings.push(`GET /products took ${fetched.latencyMs} ms (over ${settings.slowMs} ms): a slow supplier gets fewer sync slots`);
  return warnings;
}

function emptyReport(): ConformanceReport {
  return {
    ok: false,
    products: 0,
    options: 0,
    units: 0,
    quarantined: 0,
    bytes: 0,
    fetch_ms: 0,
    stable: null,
    failure: null,
    differences: [],
    errors: [],
    warnings: [],
    availability: null,
    unknown_product: null,
    locales: [],
    currencies: [],
    latency: { catalog: null, availability: null, calendar: null },
  };
}

function describe(report: ConformanceReport, fetched: FetchedBody, catalog: ReadCatalog, settings: ConformanceSettings): void {
  const options = catalog.products.flatMap((p) => p.options);
  report.products = catalog.products.length;
  report.options = options.length;
  report.units = options.reduce((n, o) => n + (Array.isArray(o.units) ? o.units.length : 0), 0);
  report.quarantined = catalog.quarantines.length;
  report.warnings.push(...headerWarnings(fetched, settings), ...catalog.quarantines, ...catalogQuirks(catalog.products, capabilityIds(settings.capabilities)));
}

/** Compares the second fetch with the first: `stable`, the differing paths, or why it could not. */
async function compareSecond({ client, target, latencies }: Probe, first: ReadCatalog, report: ConformanceReport, settings: ConformanceSettings): Promise<void> {
  const again = await fetchOnce(client, target);
  if (again.ok) latencies.catalog.push(again.value.latencyMs);
  const second = again.ok ? await read(again.value.body, settings.productLimits) : again;
  if (!second.ok) {
    fail(report, second.error, again.ok ? again.value.status : undefined, 'second fetch: ');
    return;
  }
  report.stable = canonicalHash(first.products) === canonicalHash(second.value.products);
  if (report.stable) return;
  report.differences = catalogDifferences(first.products, second.value.products, settings.maxDifferences);
  report.warnings.push('two fetches gave different catalogs: every sync would rewrite the changed products (see differences)');
}

/** What the catalog's products let us ask beyond it: availability, product lookups, languages, currencies. */
async function probeBeyondCatalog(probe: Probe, products: readonly OctoProduct[], report: ConformanceReport, settings: ConformanceSettings): Promise<void> {
  const now = new Date();
  report.locales = await checkLocales(probe, settings.locales ?? []);
  report.currencies = await checkCurrencies(probe, products, settings.currencies ?? [], now);
  if (products[0] === undefined) return;
  report.availability = await checkAvailability(probe, products, now);
  report.unknown_product = await checkUnknownProduct(probe, products[0].id);
}

function latencies(probe: Probe): ConformanceReport['latency'] {
  const { catalog, availability, calendar } = probe.latencies;
  return {
    catalog: latencyReport(catalog, LATENCY_THRESHOLDS_MS.catalog),
    availability: latencyReport(availability, LATENCY_THRESHOLDS_MS.availability),
    calendar: latencyReport(calendar, LATENCY_THRESHOLDS_MS.availability),
  };
}

/**
 * Fetches `GET /products` twice through `client` (the sync's outbound client and rules) and reads
 * each answer with the sync's own reader; then asks a sample of availability, a known and an
 * unknown product, and each asked language and currency. Never throws for a supplier's fault: it
 * is in the report.
 */
export async function checkConformance(client: SupplierClient, target: SupplierTarget, settings: ConformanceSettings): Promise<ConformanceReport> {
  const report = emptyReport();
  const probe: Probe = { client, target, capabilities: settings.capabilities, latencies: { catalog: [], availability: [], calendar: [] } };
  const first = await fetchOnce(client, target);
  if (!first.ok) {
    fail(report, first.error, undefined);
    return report;
  }
  report.bytes = first.value.bytes;
  report.fetch_ms = first.value.latencyMs;
  probe.latencies.catalog.push(first.value.latencyMs);
  const catalog = await read(first.value.body, settings.productLimits);
  if (!catalog.ok) {
    fail(report, catalog.error, first.value.status);
    report.warnings.push(...headerWarnings(first.value, settings));
    report.latency = latencies(probe);
    return report;
  }
  describe(report, first.value, catalog.value, settings);
  await compareSecond(probe, catalog.value, report, settings);
  report.ok = report.errors.length === 0;
  await probeBeyondCatalog(probe, catalog.value.products, report, settings);
  report.latency = latencies(probe);
  return report;
}

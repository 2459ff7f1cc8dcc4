import { parseAvailability, type AvailabilityQuery, type ParsedAvailability } from './availability';
import { pricedCurrencies } from './availability-prices';
import { availabilityQuirks } from './availability-quirks';
import type { OctoProduct } from './catalog';
import { withCapability } from './conformance-quirks';
import { isSupplierError, type SupplierError } from './errors';
import type { SupplierClient } from './outbound';
import type { FetchOptions, SupplierTarget } from './outbound-config';

/** Products sampled (their first option each), calls per endpoint, and days asked: a short, bounded look. */
const SAMPLE_PRODUCTS = 3;
const CALLS_PER_ENDPOINT = 3;
const WINDOW_DAYS = 7;

/** What `POST /availability` (and `/availability/calendar`) answered for a sample of products. */
export interface AvailabilityReport {
  /** The options asked, `productId/optionId`. */
  sample: string[];
  local_date_start: string;
  local_date_end: string;
  /** Slots in the answers, summed over the calls. */
  slots: number;
  /** `not_served`: the supplier answered 404 or 405 (optional in OCTO). */
  calendar: 'served' | 'not_served' | 'failed';
  /** What a pull tolerates in these answers (see `availabilityQuirks`). */
  quirks: string[];
  /** What a pull would fail on. */
  errors: string[];
}

/** Whether prices came back in the currency asked. */
export interface CurrencyReport {
  currency: string;
  /** The currencies the answer's `pricing` and `unitPricing` named. */
  currencies_seen: string[];
  /** null: the answer carried no prices to judge by (or failed: see `error`). */
  honoured: boolean | null;
  error?: string;
}

/**
 * Answer times (ms) of the conformance calls that were answered, by endpoint: each the client's own
 * measure of the exchange, so a wait for our supplier budget or out a throttling answer is not
 * counted as the supplier's slowness.
 */
interface Latencies {
  catalog: number[];
  availability: number[];
  calendar: number[];
}

/** What every conformance call shares: the client, the target, the sync's capabilities, and where answer times go. */
export interface Probe {
  client: SupplierClient;
  target: SupplierTarget;
  capabilities: string;
  latencies: Latencies;
}

function line(error: SupplierError, what: string): string {
  return `${what}: ${error.code}: ${error.message}`;
}

/** A supplier error as a value; anything else is our bug and is thrown. */
async function attempt<T>(call: () => Promise<T>): Promise<T | SupplierError> {
  try {
    return await call();
  } catch (error: unknown) {
    if (!isSupplierError(error)) throw error;
    return error;
  }
}

function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/** The first option of up to {@link SAMPLE_PRODUCTS} products, over the next {@link WINDOW_DAYS} days (UTC dates). */
function sampleQueries(products: readonly OctoProduct[], now: Date): AvailabilityQuery[] {
  const localDateStart = now.toISOString().slice(0, 10);
  const localDateEnd = addDays(localDateStart, WINDOW_DAYS - 1);
  return products.slice(0, SAMPLE_PRODUCTS).map((p) => ({ productId: p.id, optionId: p.options[0]!.id, localDateStart, localDateEnd }));
}

async function askAvailability(probe: Probe, query: AvailabilityQuery, options: FetchOptions = {}): Promise<ParsedAvailability | SupplierError> {
  const fetched = await attempt(() => probe.client.fetchAvailability(probe.target, query, options));
  if (isSupplierError(fetched)) return fetched;
  probe.latencies.availability.push(fetched.latencyMs);
  return attempt(() => Promise.resolve(parseAvailability(fetched.body)));
}

async function askCalendar(probe: Probe, queries: readonly AvailabilityQuery[], report: AvailabilityReport): Promise<void> {
  for (let i = 0; i < CALLS_PER_ENDPOINT; i++) {
    const query = queries[i % queries.length]!;
    const answer = await attempt(() => probe.client.fetchAvailabilityCalendar(probe.target, query));
    if (!isSupplierError(answer)) {
      probe.latencies.calendar.push(answer.latencyMs);
      continue;
    }
    const notServed = i === 0 && (answer.status === 404 || answer.status === 405);
    report.calendar = notServed ? 'not_served' : 'failed';
    if (!notServed) report.errors.push(line(answer, `POST /availability/calendar ${query.productId}/${query.optionId}`));
    return;
  }
}

/**
 * Asks `POST /availability` {@link CALLS_PER_ENDPOINT} times over a sample of the catalog's
 * options, reads each answer with the pull's parser, and tries `/availability/calendar`.
 * Null when the catalog has no product to ask about.
 */
export async function checkAvailability(probe: Probe, products: readonly OctoProduct[], now: Date): Promise<AvailabilityReport | null> {
  const queries = sampleQueries(products, now);
  if (queries.length === 0) return null;
  const first = queries[0]!;
  const report: AvailabilityReport = {
    sample: queries.map((q) => `${q.productId}/${q.optionId}`),
    local_date_start: first.localDateStart,
    local_date_end: first.localDateEnd,
    slots: 0,
    calendar: 'served',
    quirks: [],
    errors: [],
  };
  const answers: ParsedAvailability[] = [];
  for (let i = 0; i < CALLS_PER_ENDPOINT; i++) {
    const query = queries[i % queries.length]!;
    const answer = await askAvailability(probe, query);
    if (isSupplierError(answer)) report.errors.push(line(answer, `POST /availability ${query.productId}/${query.optionId}`));
    else answers.push(answer);
  }
  report.slots = answers.reduce((n, a) => n + a.slots.length + a.held.length + a.dropped.length, 0);
  report.quirks = availabilityQuirks(answers);
  await askCalendar(probe, queries, report);
  return report;
}

/** Per asked currency, one `POST /availability` with `currency` (and `octo/pricing`) for the first sampled option. */
export async function checkCurrencies(probe: Probe, products: readonly OctoProduct[], currencies: readonly string[], now: Date): Promise<CurrencyReport[]> {
  const query = sampleQueries(products, now)[0];
  const reports: CurrencyReport[] = [];
  for (const currency of currencies) {
    if (query === undefined) {
      reports.push({ currency, currencies_seen: [], honoured: null, error: 'the catalog has no product to ask about' });
      continue;
    }
    const headers = { 'octo-capabilities': withCapability(probe.capabilities, 'octo/pricing') };
    const answer = await askAvailability(probe, { ...query, currency }, { headers });
    if (isSupplierError(answer)) {
      reports.push({ currency, currencies_seen: [], honoured: null, error: `${answer.code}: ${answer.message}` });
      continue;
    }
    const seen = [...pricedCurrencies(answer.slots)].sort();
    reports.push({ currency, currencies_seen: seen, honoured: seen.length === 0 ? null : seen.every((c) => c === currency) });
  }
  return reports;
}


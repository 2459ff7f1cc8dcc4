import { z } from 'zod';
import { SupplierError } from './errors';

/*
 * Two layers, on purpose:
 * - parseCatalog checks only the structure a sync cannot do without (ids and the
 *   product → option → unit arrays) with plain loops over the JSON.parse result, and returns
 *   that very object: no copy, so a 100 MB catalog is held once and its raw JSON is kept exactly.
 * - The zod schemas below read the known fields of ONE entity leniently (a wrongly typed field
 *   becomes undefined instead of failing), for the code that maps OCTO onto our tables.
 */

const lenient = <T extends z.ZodType>(schema: T) => schema.nullish().catch(undefined);
const str = lenient(z.string());
const bool = lenient(z.boolean());
const int = lenient(z.number().int());
const strings = lenient(z.array(z.string()));

/** One tax included in a price (`includedTaxes[]`), amounts in minor units. */
export const octoIncludedTaxSchema = z.looseObject({ name: str, retail: int, original: int, net: int });

/**
 * One price in one currency. Money is an integer in minor units: the value is
 * `retail / 10^currencyPrecision`. A non-integer amount reads as undefined, never as a float.
 */
export const octoPricingSchema = z.looseObject({
  original: int,
  retail: int,
  net: int,
  currency: str,
  currencyPrecision: int,
  includedTaxes: lenient(z.array(octoIncludedTaxSchema)),
});

/** A typed, lenient view of an OCTO pricing object; unknown fields are kept. */
export type OctoPricing = z.output<typeof octoPricingSchema>;

const pricingList = lenient(z.array(z.unknown())).transform((items) => (items === null || items === undefined ? items : readPricing(items)));

/** Known Unit fields (§ Unit of octo.md); `id` is required. */
export const octoUnitSchema = z.looseObject({
  id: z.string(),
  internalName: str,
  reference: str,
  type: str,
  restrictions: lenient(
    z.looseObject({
      minAge: int,
      maxAge: int,
      idRequired: bool,
      minQuantity: int,
      maxQuantity: int,
      paxCount: int,
      accompaniedBy: strings,
    }),
  ),
  pricingFrom: pricingList,
  pricing: pricingList,
});

/** Known Option fields; `id` is required, `units` (when present) must be an array of units. */
export const octoOptionSchema = z.looseObject({
  id: z.string(),
  default: bool,
  internalName: str,
  reference: str,
  availabilityLocalStartTimes: strings,
  cancellationCutoff: str,
  cancellationCutoffAmount: int,
  cancellationCutoffUnit: str,
  requiredContactFields: strings,
  restrictions: lenient(z.looseObject({ minUnits: int, maxUnits: int })),
  units: z.array(octoUnitSchema).nullish(),
  pricingFrom: pricingList,
  pricing: pricingList,
});

/**
 * Known Product fields, old and new content shapes alike; `id` (non-empty) and `options` are
 * required. Parse one product at a time (it copies); use {@link parseCatalog} for a whole body.
 */
export const octoProductSchema = z.looseObject({
  id: z.string().min(1),
  internalName: str,
  reference: str,
  locale: str,
  timeZone: str,
  allowFreesale: bool,
  instantConfirmation: bool,
  instantDelivery: bool,
  availabilityRequired: bool,
  availabilityType: str,
  deliveryFormats: strings,
  deliveryMethods: strings,
  redemptionMethod: str,
  defaultCurrency: str,
  availableCurrencies: strings,
  pricingPer: str,
  title: str,
  subtitle: str,
  shortDescription: str,
  description: str,
  country: str,
  location: str,
  coverImageUrl: str,
  durationMinutesFrom: int,
  durationMinutesTo: int,
  options: z.array(octoOptionSchema),
});

/** The typed view `octoProductSchema` produces. */
export type OctoProductFields = z.output<typeof octoProductSchema>;

/**
 * An OCTO unit as {@link parseCatalog} returns it: `id` is checked, every other field is the
 * supplier's raw JSON (read it through {@link octoUnitSchema} or the `read*` helpers).
 */
export interface OctoUnit {
  id: string;
  internalName?: unknown;
  reference?: unknown;
  type?: unknown;
  restrictions?: unknown;
  pricingFrom?: unknown;
  pricing?: unknown;
  [key: string]: unknown;
}

/** An OCTO option as {@link parseCatalog} returns it: `id` checked, `units` an array or absent/null. */
export interface OctoOption {
  id: string;
  units?: OctoUnit[] | null;
  default?: unknown;
  internalName?: unknown;
  reference?: unknown;
  availabilityLocalStartTimes?: unknown;
  restrictions?: unknown;
  pricingFrom?: unknown;
  pricing?: unknown;
  [key: string]: unknown;
}

/** An OCTO product as {@link parseCatalog} returns it: non-empty `id` and `options` checked. */
export interface OctoProduct {
  id: string;
  options: OctoOption[];
  internalName?: unknown;
  reference?: unknown;
  timeZone?: unknown;
  availabilityType?: unknown;
  pricingPer?: unknown;
  defaultCurrency?: unknown;
  [key: string]: unknown;
}

/** The units of an option; a missing or null `units` means none. */
export function unitsOf(option: OctoOption): OctoUnit[] {
  return option.units ?? [];
}

/** Read a pricing array leniently: entries that are not objects are dropped, bad fields become undefined. */
export function readPricing(value: unknown): OctoPricing[] {
  if (!Array.isArray(value)) return [];
  const out: OctoPricing[] = [];
  for (const item of value) {
    const parsed = octoPricingSchema.safeParse(item);
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

/** Problems beyond this many are summarised in one last line. */
export const MAX_CATALOG_PROBLEMS = 50;

class Problems {
  readonly list: string[] = [];
  private extra = 0;
  add(path: string, problem: string): void {
    if (this.list.length < MAX_CATALOG_PROBLEMS) this.list.push(`${path}: ${problem}`);
    else this.extra++;
  }
  get count(): number {
    return this.list.length + this.extra;
  }
  lines(): string[] {
    return this.extra === 0 ? this.list : [...this.list, `... and ${this.extra} more problems`];
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  return `a ${typeof value}`;
}

function quoteId(id: string): string {
  return JSON.stringify(id.length > 80 ? `${id.slice(0, 77)}...` : id);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `id` must be a string (non-empty where asked); duplicates among siblings are reported. */
function checkId(record: Record<string, unknown>, path: string, what: string, nonEmpty: boolean, seen: Map<string, string>, problems: Problems): void {
  const id = record.id;
  if (typeof id !== 'string' || (nonEmpty && id === '')) {
    problems.add(`${path}.id`, `must be a ${nonEmpty ? 'non-empty ' : ''}string (got ${id === '' ? 'an empty string' : kindOf(id)})`);
    return;
  }
  const first = seen.get(id);
  if (first !== undefined) problems.add(`${path}.id`, `duplicate ${what} id ${quoteId(id)} (first at ${first})`);
  else seen.set(id, path);
}

/**
 * Check the structure of an already parsed catalog and return every problem (at most
 * {@link MAX_CATALOG_PROBLEMS} plus a summary line); an empty list means it is usable.
 */
export function catalogProblems(value: unknown): string[] {
  return collectProblems(value).lines();
}

function collectProblems(value: unknown): Problems {
  const problems = new Problems();
  if (!Array.isArray(value)) {
    const octoError = isRecord(value) && typeof value.error === 'string' ? ` (it is an OCTO error object: ${quoteId(value.error)})` : '';
    problems.add('(root)', `must be an array of products (got ${kindOf(value)})${octoError}`);
    return problems;
  }
  const productIds = new Map<string, string>();
  for (let p = 0; p < value.length; p++) {
    const product: unknown = value[p];
    const productPath = `[${p}]`;
    if (!isRecord(product)) {
      problems.add(productPath, `must be an object (got ${kindOf(product)})`);
      continue;
    }
    checkId(product, productPath, 'product', true, productIds, problems);
    const options = product.options;
    if (!Array.isArray(options)) {
      problems.add(`${productPath}.options`, `must be an array (got ${kindOf(options)})`);
      continue;
    }
    const optionIds = new Map<string, string>();
    for (let o = 0; o < options.length; o++) {
      const option: unknown = options[o];
      const optionPath = `${productPath}.options[${o}]`;
      if (!isRecord(option)) {
        problems.add(optionPath, `must be an object (got ${kindOf(option)})`);
        continue;
      }
      checkId(option, optionPath, 'option', false, optionIds, problems);
      const units = option.units;
      if (units === undefined || units === null) continue;
      if (!Array.isArray(units)) {
        problems.add(`${optionPath}.units`, `must be an array when present (got ${kindOf(units)})`);
        continue;
      }
      const unitIds = new Map<string, string>();
      for (let u = 0; u < units.length; u++) {
        const unit: unknown = units[u];
        const unitPath = `${optionPath}.units[${u}]`;
        if (!isRecord(unit)) {
          problems.add(unitPath, `must be an object (got ${kindOf(unit)})`);
          continue;
        }
        checkId(unit, unitPath, 'unit', false, unitIds, problems);
      }
    }
  }
  return problems;
}

function describeJsonFailure(text: string, error: Error): string {
  const trimmed = text.trimStart();
  if (trimmed === '') return 'the body is empty';
  if (trimmed.startsWith('<')) return 'the body looks like HTML, not JSON (is base_url the OCTO API root?)';
  // V8 quotes the input in its messages; keep only the position, never the supplier's bytes.
  const position = /position (\d+)/.exec(error.message)?.[1];
  if (/Unexpected end of JSON input|Unterminated/i.test(error.message)) return `the JSON ends early (truncated after ${text.length} characters)`;
  return position === undefined ? 'the body is not valid JSON' : `the body is not valid JSON (error at character ${position})`;
}

/**
 * Parse a `GET /products` body (UTF-8, a leading BOM tolerated): JSON.parse once, then check the
 * structure with {@link catalogProblems}. Throws SupplierError `CATALOG_NOT_JSON` or
 * `CATALOG_INVALID` (with every problem in `details`); returns the parsed array itself.
 */
export function parseCatalog(body: Buffer | string): OctoProduct[] {
  // Given the text (not the bytes), the caller can drop its Buffer before JSON.parse allocates.
  let text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error: unknown) {
    if (!(error instanceof Error) || error.name !== 'SyntaxError') throw error;
    throw new SupplierError('CATALOG_NOT_JSON', `supplier's GET /products answer is not JSON: ${describeJsonFailure(text, error)}`);
  }
  const problems = collectProblems(value);
  if (problems.count > 0) {
    const lines = problems.lines();
    const count = problems.count === 1 ? '1 problem' : `${problems.count} problems, first`;
    throw new SupplierError('CATALOG_INVALID', `supplier's catalog is not usable (${count}: ${lines[0] ?? ''})`, { details: lines });
  }
  return value as OctoProduct[];
}

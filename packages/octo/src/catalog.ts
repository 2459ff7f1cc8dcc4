import { SupplierError } from './errors';

/*
 * What a catalog must be for a sync to use it at all: ids and the product → option → unit arrays,
 * checked with plain loops over the JSON.parse result. The parsed objects are returned as they are
 * (no copy: a 100 MB catalog is held once and its raw JSON is kept exactly); the worker's mapper
 * reads the other known fields leniently from them.
 */

/** An OCTO unit as parsed: `id` is checked, every other field is the supplier's raw JSON. */
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

/** An OCTO option as parsed: `id` checked, `units` an array or absent/null. */
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

/** An OCTO product as parsed: non-empty `id` and `options` checked. */
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

/** A product that cannot be stored as sent: the sync keeps its previous version and reports it. */
export interface ProductQuarantine {
  /** The product's id as sent; undefined when it has no usable id (it matches no stored product). */
  productId: string | undefined;
  /** Where the problem is, e.g. `[3].options[0].title` (keys escaped, safe to store and show). */
  path: string;
  reason: string;
}

/** Problems beyond this many are summarised in one last line. */
const MAX_CATALOG_PROBLEMS = 50;

/** The structural problems of one catalog, in order, the first {@link MAX_CATALOG_PROBLEMS} kept. */
export class Problems {
  private readonly list: string[] = [];
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

function collectProblems(value: unknown): Problems {
  const problems = new Problems();
  if (!Array.isArray(value)) {
    const octoError = isRecord(value) && typeof value.error === 'string' ? ` (it is an OCTO error object: ${quoteId(value.error)})` : '';
    problems.add('(root)', `must be an array of products (got ${kindOf(value)})${octoError}`);
    return problems;
  }
  const productIds = new Map<string, string>();
  for (let p = 0; p < value.length; p++) checkProduct(value[p], p, productIds, problems);
  return problems;
}

/**
 * Checks the product at index `p` (structural problems go to `problems`); `productIds` carries the
 * ids seen so far across the catalog. An object without a usable `id` is not a structural problem
 * of the catalog: it is returned as a quarantine (its options are still checked).
 */
export function checkProduct(product: unknown, p: number, productIds: Map<string, string>, problems: Problems): ProductQuarantine | undefined {
  const productPath = `[${p}]`;
  if (!isRecord(product)) {
    problems.add(productPath, `must be an object (got ${kindOf(product)})`);
    return undefined;
  }
  const id = product.id;
  const usable = typeof id === 'string' && id !== '';
  if (usable) checkId(product, productPath, 'product', true, productIds, problems);
  checkOptions(product.options, productPath, problems);
  if (usable) return undefined;
  return { productId: undefined, path: `${productPath}.id`, reason: `the product id must be a non-empty string (got ${id === '' ? 'an empty string' : kindOf(id)})` };
}

function checkOptions(options: unknown, productPath: string, problems: Problems): void {
  if (!Array.isArray(options)) {
    problems.add(`${productPath}.options`, `must be an array (got ${kindOf(options)})`);
    return;
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
    checkUnits(option.units, optionPath, problems);
  }
}

function checkUnits(units: unknown, optionPath: string, problems: Problems): void {
  if (units === undefined || units === null) return;
  if (!Array.isArray(units)) {
    problems.add(`${optionPath}.units`, `must be an array when present (got ${kindOf(units)})`);
    return;
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

/** Throws `CATALOG_INVALID` listing every problem, if there is any. */
export function throwIfInvalid(problems: Problems): void {
  if (problems.count === 0) return;
  const lines = problems.lines();
  const count = problems.count === 1 ? '1 problem' : `${problems.count} problems, first`;
  throw new SupplierError('CATALOG_INVALID', `supplier's catalog is not usable (${count}: ${lines[0] ?? ''})`, { details: lines });
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
 * structure. Throws SupplierError `CATALOG_NOT_JSON` or `CATALOG_INVALID` (with every problem, at
 * most 50 and a summary line, in `details`); returns the parsed array itself, less the products
 * without a usable id (which a sync quarantines, see `CatalogReader`).
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
  throwIfInvalid(collectProblems(value));
  const products = value as OctoProduct[];
  return products.every(hasUsableId) ? products : products.filter(hasUsableId);
}

function hasUsableId(product: OctoProduct): boolean {
  return typeof product.id === 'string' && product.id !== '';
}

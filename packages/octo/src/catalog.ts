import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { CANONICAL_MAX_DEPTH } from './canonical-json';
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
  for (let p = 0; p < value.length; p++) checkProduct(value[p], p, productIds, problems);
  return problems;
}

/** A product that cannot be stored as sent: the sync keeps its previous version and reports it. */
export interface ProductQuarantine {
  /** The product's id as sent; undefined when it has no usable id (it matches no stored product). */
  productId: string | undefined;
  /** Where the problem is, e.g. `[3].options[0].title` (keys escaped, safe to store and show). */
  path: string;
  reason: string;
}

/**
 * Checks the product at index `p` (structural problems go to `problems`); `productIds` carries the
 * ids seen so far across the catalog. An object without a usable `id` is not a structural problem
 * of the catalog: it is returned as a quarantine (its options are still checked).
 */
function checkProduct(product: unknown, p: number, productIds: Map<string, string>, problems: Problems): ProductQuarantine | undefined {
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
 * `CATALOG_INVALID` (with every problem in `details`); returns the parsed array itself, less the
 * products without a usable id (which a sync quarantines, see {@link CatalogReader}).
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

function throwIfInvalid(problems: Problems): void {
  if (problems.count === 0) return;
  const lines = problems.lines();
  const count = problems.count === 1 ? '1 problem' : `${problems.count} problems, first`;
  throw new SupplierError('CATALOG_INVALID', `supplier's catalog is not usable (${count}: ${lines[0] ?? ''})`, { details: lines });
}

// Bytes the array framing looks at (plain constants: this loop runs over every byte of the body).
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** JSON's own whitespace (RFC 8259 §2), the only bytes JSON.parse skips between tokens. */
function isJsonSpace(byte: number | undefined): boolean {
  return byte === SPACE || byte === LF || byte === CR || byte === TAB;
}

/**
 * The byte ranges of the elements of a top-level JSON array, as `[start0, end0, start1, end1, …]`
 * (each range may carry JSON whitespace around the value), found in one pass over the bytes that
 * tracks nesting and string/escape state. A leading UTF-8 BOM and whitespace around the array are
 * allowed. Returns undefined when the bytes are not framed as one array (another top-level value,
 * truncated, mismatched brackets, something after the array): only the framing is checked here,
 * each element still has to pass JSON.parse, and `[` + elements joined by `,` + `]` is then
 * valid JSON exactly when every element is.
 */
export function scanArrayElements(bytes: Buffer): number[] | undefined {
  const n = bytes.length;
  let i = n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < n && isJsonSpace(bytes[i])) i++;
  if (bytes[i] !== OPEN_BRACKET) return undefined;
  const bounds: number[] = [];
  let start = ++i;
  let depth = 1;
  while (i < n) {
    const c = bytes[i]!;
    if (c === QUOTE) {
      // Skip the string: jump from quote to quote (memchr, much faster than a JS loop over its
      // bytes); a quote preceded by an odd run of backslashes is escaped and does not end it.
      let q = i;
      for (;;) {
        q = bytes.indexOf(QUOTE, q + 1);
        if (q < 0) return undefined;
        let b = q - 1;
        while (bytes[b] === BACKSLASH) b--;
        if (((q - 1 - b) & 1) === 0) break;
      }
      i = q;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      depth++;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      if (--depth === 0) {
        if (c !== CLOSE_BRACKET) return undefined;
        bounds.push(start, i);
        break;
      }
    } else if (c === COMMA && depth === 1) {
      bounds.push(start, i);
      start = i + 1;
    }
    i++;
  }
  if (depth !== 0) return undefined;
  for (i++; i < n; i++) if (!isJsonSpace(bytes[i])) return undefined;
  // `[ ]` is the empty array, not one blank element (a blank element anywhere else fails JSON.parse).
  if (bounds.length === 2) {
    let blank = true;
    for (let k = bounds[0]!; k < bounds[1]! && blank; k++) blank = isJsonSpace(bytes[k]);
    if (blank) bounds.length = 0;
  }
  return bounds;
}

/** Per-product limits of what a sync stores; a product past one is quarantined. */
export interface ProductLimits {
  /** Largest product, in bytes as sent (its options and units included). */
  maxProductBytes: number;
  /** Longest string (a value or a field name), in UTF-8 bytes. */
  maxStringBytes: number;
}

/** One product of a {@link CatalogReader}: usable as is, or quarantined. */
export type CatalogEntry = { kind: 'product'; product: OctoProduct } | { kind: 'quarantined'; quarantine: ProductQuarantine };

/**
 * A `GET /products` body read one product at a time, never materialised as a whole: the body is
 * framed by {@link scanArrayElements}, then each product's bytes go through JSON.parse on their
 * own and are checked with the same rules as {@link parseCatalog} (duplicate product ids across
 * the whole catalog included). Every failure is the one `parseCatalog` gives for the same body,
 * message for message: a body that is not framed as an array, or an element that is not JSON,
 * is handed to `parseCatalog` itself to say why (that path parses the whole body, once, to fail).
 *
 * A product that is structurally sound but cannot be stored as sent is quarantined instead of
 * failing the catalog: no usable id, invalid UTF-8, a NUL character or unpaired surrogate, a string
 * or the product past its {@link ProductLimits}, a number JSON.parse turned into Infinity, or
 * nesting more than {@link CANONICAL_MAX_DEPTH} levels below the product (which the canonical hash refuses).
 */
export class CatalogReader {
  private readonly problems = new Problems();
  private readonly productIds = new Map<string, string>();
  private next = 0;

  private constructor(
    private readonly body: Buffer,
    private readonly bounds: number[],
    private readonly limits: ProductLimits,
    /** Checked once for the whole body, so that only a body with bad bytes is checked per product. */
    private readonly validUtf8: boolean,
  ) {}

  /** Frames `body`; throws `CATALOG_NOT_JSON` / `CATALOG_INVALID` when it is not an array. */
  static open(body: Buffer, limits: ProductLimits): CatalogReader {
    const bounds = scanArrayElements(body);
    if (bounds === undefined) failAsParseCatalog(body);
    return new CatalogReader(body, bounds, limits, isUtf8(body));
  }

  /** Number of products (elements of the array). */
  get length(): number {
    return this.bounds.length / 2;
  }

  /** True once any product read so far has a structural problem (the catalog will be refused). */
  get invalid(): boolean {
    return this.problems.count > 0;
  }

  /**
   * Parses and checks the next product (read them in order, each once). Returns it, or its
   * quarantine, while the catalog has no structural problem so far; otherwise undefined (call
   * {@link finish} to throw the error).
   */
  read(): CatalogEntry | undefined {
    const p = this.next++;
    const start = this.bounds[2 * p];
    const end = this.bounds[2 * p + 1];
    if (start === undefined || end === undefined) throw new RangeError(`product ${p} read past the end of the catalog`);
    const bytes = this.body.subarray(start, end);
    let product: unknown;
    try {
      product = JSON.parse(bytes.toString('utf8'));
    } catch (error: unknown) {
      if (!(error instanceof Error) || error.name !== 'SyntaxError') throw error;
      failAsParseCatalog(this.body);
    }
    const withoutId = checkProduct(product, p, this.productIds, this.problems);
    if (this.problems.count > 0) return undefined;
    const quarantine = withoutId ?? this.unstorable(product as OctoProduct, bytes, p);
    return quarantine === undefined ? { kind: 'product', product: product as OctoProduct } : { kind: 'quarantined', quarantine };
  }

  /** Reads (checks) the products not read yet, then throws `CATALOG_INVALID` if any had a problem. */
  finish(): void {
    while (this.next < this.length) this.read();
    throwIfInvalid(this.problems);
  }

  private unstorable(product: OctoProduct, bytes: Buffer, p: number): ProductQuarantine | undefined {
    const { maxProductBytes, maxStringBytes } = this.limits;
    if (bytes.length > maxProductBytes) {
      return { productId: product.id, path: `[${p}]`, reason: `the product is ${bytes.length} bytes, over the limit of ${maxProductBytes} bytes per product` };
    }
    // Only a \u escape can put a NUL or a lone surrogate in a parsed string (a raw control byte
    // fails JSON.parse, and the UTF-8 decoder never yields a surrogate): most products skip both checks.
    const escaped = bytes.includes('\\u');
    const stack: Array<string | number> = [];
    const reason = findUnstorable(product, stack, (text) => stringDefect(text, maxStringBytes, escaped));
    if (reason !== undefined) return { productId: product.id, path: pathOf(p, stack), reason };
    if (this.validUtf8 || isUtf8(bytes)) return undefined;
    const at = invalidUtf8Path(bytes);
    const path = at === undefined ? `[${p}]` : pathOf(p, at);
    // Bad bytes in the id itself: the decoded id is not the one the supplier meant.
    const productId = at?.length === 1 && at[0] === 'id' ? undefined : product.id;
    return { productId, path, reason: 'the string contains bytes that are not valid UTF-8' };
  }
}

/** What is wrong with one string (a value or a field name) for storage, or undefined. */
type StringCheck = (text: string) => string | undefined;

function stringDefect(text: string, maxBytes: number, escaped: boolean): string | undefined {
  if (escaped && text.includes('\u0000')) return 'contains a NUL character (U+0000), which Postgres cannot store';
  if (escaped && !text.isWellFormed()) return 'contains an unpaired UTF-16 surrogate, which is not Unicode text';
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: most strings need no byte count.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) return `is ${bytes} bytes long, over the limit of ${maxBytes} bytes per string`;
  }
  return undefined;
}

/**
 * Walks `value` depth first and returns why the first unstorable part cannot be stored, leaving its
 * location in `stack` (keys and indexes below `value`); undefined when everything can be stored.
 */
function findUnstorable(value: unknown, stack: Array<string | number>, check: StringCheck): string | undefined {
  if (typeof value === 'string') {
    const defect = check(value);
    return defect === undefined ? undefined : `the string ${defect}`;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'the number is too large to represent (it parses as Infinity)';
  if (value === null || typeof value !== 'object') return undefined;
  // The canonicaliser's own test, applied to the product as the mapper hands it over.
  if (stack.length > CANONICAL_MAX_DEPTH) return `the value nests deeper than ${CANONICAL_MAX_DEPTH} levels below the product`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      stack.push(i);
      const reason = findUnstorable(value[i], stack, check);
      if (reason !== undefined) return reason;
      stack.pop();
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    stack.push(key);
    const defect = check(key);
    if (defect !== undefined) return `the field name ${defect}`;
    const reason = findUnstorable(record[key], stack, check);
    if (reason !== undefined) return reason;
    stack.pop();
  }
  return undefined;
}

/** Offset of the first byte that does not start a valid UTF-8 sequence (the bytes hold one). */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    const size = lead < 0x80 ? 1 : lead < 0xc2 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf5 ? 4 : 0;
    if (size === 0 || (size > 1 && !isUtf8(bytes.subarray(i, i + size)))) return i;
    i += size;
  }
  return i;
}

/** Noncharacters U+FDD0..U+FDEF: valid UTF-8 that no real text needs. */
const MARKERS = Array.from({ length: 32 }, (_, k) => String.fromCharCode(0xfdd0 + k));

/**
 * Where the first invalid UTF-8 byte of a product sits: the byte is swapped for a character the
 * decoded product does not contain, and the string holding it is looked up. Invalid bytes can only
 * be inside strings of a product that parsed. Undefined if the product uses every candidate.
 */
function invalidUtf8Path(bytes: Buffer): Array<string | number> | undefined {
  const text = bytes.toString('utf8');
  const marker = MARKERS.find((candidate) => !text.includes(candidate));
  if (marker === undefined) return undefined;
  const bad = firstInvalidUtf8(bytes);
  const marked = Buffer.concat([bytes.subarray(0, bad), Buffer.from(marker), bytes.subarray(bad + 1)]).toString('utf8');
  const stack: Array<string | number> = [];
  const found = findUnstorable(JSON.parse(marked), stack, (s) => (s.includes(marker) ? 'marked' : undefined));
  return found === undefined ? undefined : stack;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `[p].options[0].title`; other field names JSON-quoted (`["a b"]`); at most 200 characters. */
function pathOf(p: number, stack: ReadonlyArray<string | number>): string {
  let path = `[${p}]`;
  for (const part of stack) {
    if (path.length > 200) break;
    if (typeof part === 'number') path += `[${part}]`;
    else path += IDENTIFIER.test(part) && part.length <= 80 ? `.${part}` : `[${JSON.stringify(shorten(part, 80))}]`;
  }
  return shorten(path, 200);
}

/** At most `max` characters, never cut between the two halves of a surrogate pair. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = /[\ud800-\udbff]/.test(text.charAt(max - 4)) ? max - 4 : max - 3;
  return `${text.slice(0, cut)}...`;
}

/**
 * A supplier's id as text that is safe to show and to store: escaped as in JSON when it holds
 * what Postgres cannot store (NUL, unpaired surrogates), shortened to 80 characters.
 */
export function printableId(id: string): string {
  return shorten(id.includes('\u0000') || !id.isWellFormed() ? JSON.stringify(id).slice(1, -1) : id, 80);
}

/** Throws what {@link parseCatalog} throws for `body` (which must be unusable). */
function failAsParseCatalog(body: Buffer): never {
  parseCatalog(body);
  throw new Error('catalog framing refused a body that parseCatalog accepts');
}

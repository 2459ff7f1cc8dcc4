import { isUtf8 } from 'node:buffer';
import { hash } from 'node:crypto';
import { ArrayFramer } from './array-framing';
import { Problems, checkProduct, parseCatalog, throwIfInvalid, type OctoProduct, type ProductQuarantine } from './catalog';
import { unstorable, type ProductLimits } from './product-quarantine';

/**
 * One product of a {@link CatalogReader}: usable as is, quarantined, or (with a lookup of known
 * bytes) the same bytes as a stored product, not parsed. `rawHash`: SHA-256 of the product's bytes.
 */
export type CatalogEntry =
  | { kind: 'product'; product: OctoProduct; rawHash: string }
  | { kind: 'quarantined'; quarantine: ProductQuarantine }
  | { kind: 'unchanged'; productId: string };

/** The id of the stored product whose bytes hash to `rawHash`, if that product may be taken as is. */
export type KnownBytes = (rawHash: string) => string | undefined;

/**
 * A `GET /products` body read one product at a time, never materialised as a whole: the body is
 * framed by {@link ArrayFramer} (a few MiB per turn of the event loop), then each product's bytes go through JSON.parse on their
 * own and are checked with the same rules as {@link parseCatalog} (duplicate product ids across
 * the whole catalog included). Every failure is the one `parseCatalog` gives for the same body,
 * message for message: a body that is not framed as an array, or an element that is not JSON,
 * is handed to `parseCatalog` itself to say why (that path parses the whole body, once, to fail).
 *
 * A product that is structurally sound but cannot be stored as sent (no usable id, or see
 * {@link unstorable}) is quarantined instead of failing the catalog.
 *
 * With `known`, a product whose bytes hash to those of a stored product is taken as that product
 * without parsing it: the same bytes passed the same checks when they were stored. Its id still
 * counts among the catalog's ids, and a second copy of the same bytes is parsed (and so reported
 * as a duplicate).
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
    private readonly known: KnownBytes | undefined,
  ) {}

  /** Frames `body`; throws `CATALOG_NOT_JSON` / `CATALOG_INVALID` when it is not an array. */
  static async open(body: Buffer, limits: ProductLimits, known?: KnownBytes): Promise<CatalogReader> {
    const framer = new ArrayFramer(body);
    while (!framer.step(FRAME_STEP_BYTES)) await new Promise<void>((resolve) => setImmediate(resolve));
    const bounds = framer.result();
    if (bounds === undefined) failAsParseCatalog(body);
    return new CatalogReader(body, bounds, limits, isUtf8(body), known);
  }

  /** Number of products (elements of the array). */
  get length(): number {
    return this.bounds.length / 2;
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
    const rawHash = hash('sha256', bytes);
    const knownId = this.known?.(rawHash);
    if (knownId !== undefined && this.problems.count === 0 && !this.productIds.has(knownId)) {
      this.productIds.set(knownId, `[${p}]`);
      return { kind: 'unchanged', productId: knownId };
    }
    let product: unknown;
    try {
      product = JSON.parse(bytes.toString('utf8'));
    } catch (error: unknown) {
      if (!(error instanceof Error) || error.name !== 'SyntaxError') throw error;
      failAsParseCatalog(this.body);
    }
    const withoutId = checkProduct(product, p, this.productIds, this.problems);
    if (this.problems.count > 0) return undefined;
    const quarantine = withoutId ?? unstorable(product as OctoProduct, bytes, p, this.limits, this.validUtf8);
    return quarantine === undefined ? { kind: 'product', product: product as OctoProduct, rawHash } : { kind: 'quarantined', quarantine };
  }

  /** Reads (checks) the products not read yet, then throws `CATALOG_INVALID` if any had a problem. */
  finish(): void {
    while (this.next < this.length) this.read();
    throwIfInvalid(this.problems);
  }
}

/** Bytes framed per turn of the event loop (a few milliseconds). */
const FRAME_STEP_BYTES = 4 * 1024 * 1024;

/** Throws what {@link parseCatalog} throws for `body` (which must be unusable). */
function failAsParseCatalog(body: Buffer): never {
  parseCatalog(body);
  throw new Error('catalog framing refused a body that parseCatalog accepts');
}

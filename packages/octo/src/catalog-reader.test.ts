import { hash } from 'node:crypto';
import { CANONICAL_MAX_DEPTH, canonicalJson } from './canonical-json';
import { SupplierError } from './errors';
import { parseCatalog } from './catalog';
import { CatalogReader, type CatalogEntry } from './catalog-reader';
import type { ProductLimits } from './product-quarantine';

const LIMITS: ProductLimits = { maxProductBytes: 1024 * 1024, maxStringBytes: 64 * 1024 };

/** Every entry a CatalogReader yields, or the error it throws. */
async function entries(body: Buffer, limits: ProductLimits = LIMITS): Promise<CatalogEntry[] | SupplierError> {
  try {
    const reader = await CatalogReader.open(body, limits);
    const out: CatalogEntry[] = [];
    for (let i = 0; i < reader.length; i++) {
      const entry = reader.read();
      if (entry === undefined) break;
      out.push(entry);
    }
    reader.finish();
    return out;
  } catch (error) {
    if (error instanceof SupplierError) return error;
    throw error;
  }
}

/** The products a CatalogReader yields (quarantined ones left out, as parseCatalog leaves out those without an id), or its error. */
async function readAll(body: Buffer): Promise<unknown[] | SupplierError> {
  const all = await entries(body);
  return all instanceof SupplierError ? all : all.flatMap((e) => (e.kind === 'product' ? [e.product] : []));
}

function parseAll(body: Buffer): unknown[] | SupplierError {
  try {
    return parseCatalog(body);
  } catch (error) {
    if (error instanceof SupplierError) return error;
    throw error;
  }
}

async function sameOutcome(text: string | Buffer): Promise<void> {
  const body = typeof text === 'string' ? Buffer.from(text) : text;
  const streamed = await readAll(body);
  const whole = parseAll(body);
  if (whole instanceof SupplierError) {
    expect(streamed).toBeInstanceOf(SupplierError);
    const error = streamed as SupplierError;
    expect({ code: error.code, message: error.message, details: error.details }).toEqual({ code: whole.code, message: whole.message, details: whole.details });
  } else {
    expect(streamed).toEqual(whole);
  }
}


describe('CatalogReader', () => {
  const product = (id: unknown, options: unknown = [{ id: 'o', units: [{ id: 'u' }] }]) => ({ id, options });

  it('yields the same products as parseCatalog, one at a time', async () => {
    const catalog = [product('p1'), { ...product('p2 ] "x"'), extra: { a: ['[', ']'] } }, product('ü', [])];
    expect(await readAll(Buffer.from(JSON.stringify(catalog, null, 1)))).toEqual(catalog);
    expect(await readAll(Buffer.from('[]'))).toEqual([]);
  });

  it('fails exactly as parseCatalog does, for every kind of bad body', async () => {
    for (const text of [
      '',
      'Internal error, try later',
      '<html><body>502</body></html>',
      '[{"id":"p1","options":[',
      '{"error":"UNAUTHORIZED","errorMessage":"bad key"}',
      '"a string"',
      'null',
      '[1,]',
      '[{"id":"p","options":[]},]',
      '[{"id":"p","options":[]}] trailing',
      '[{"id":"p","options":[]}, {"id": oops}]',
      '[{"id":"p","options":[]}, {"id":"q","options":[]}, {"id":"p","options":[]}]',
      JSON.stringify([product(''), product(7), product('a', 'x'), product('b', [{ id: 'o', units: {} }]), 3, product('a')]),
      JSON.stringify(Array.from({ length: 80 }, () => product(''))),
      // a structural problem first, invalid JSON later: invalid JSON wins, as with parseCatalog
      '[{"id":"","options":[]}, {"id":"q","options":[]}, {bad}]',
    ]) {
      await sameOutcome(text);
    }
  });

  it('reports duplicate product ids across the whole catalog with their first position', async () => {
    const catalog = [product('a'), product('b'), product('a'), product('b')];
    const error = await readAll(Buffer.from(JSON.stringify(catalog)));
    expect(error).toBeInstanceOf(SupplierError);
    expect((error as SupplierError).details).toEqual(['[2].id: duplicate product id "a" (first at [0])', '[3].id: duplicate product id "b" (first at [1])']);
    await sameOutcome(JSON.stringify(catalog));
  });

  it('stops yielding at the first problem but still reports every problem', async () => {
    const reader = await CatalogReader.open(Buffer.from(JSON.stringify([product('a'), product('b', 'x'), product('c'), product('d', 5)])), LIMITS);
    expect(reader.read()).toEqual({ kind: 'product', product: product('a'), rawHash: expect.any(String) });
    expect(reader.read()).toBeUndefined();
    expect(() => reader.finish()).toThrow(
      expect.objectContaining({ code: 'CATALOG_INVALID', details: ['[1].options: must be an array (got a string)', '[3].options: must be an array (got a number)'] }),
    );
  });
});

describe('CatalogReader with known bytes', () => {
  const product = (id: string, title = 't') => JSON.stringify({ id, options: [{ id: 'o' }], title });
  /** Reads every entry of `items` (JSON texts) with `known` mapping the raw hash of each text in `stored` to its id. */
  async function readKnown(items: string[], stored: Record<string, string>): Promise<CatalogEntry[] | SupplierError> {
    const byHash = new Map(Object.entries(stored).map(([id, text]) => [hash('sha256', text), id]));
    try {
      const reader = await CatalogReader.open(Buffer.from(`[${items.join(',')}]`), LIMITS, (rawHash) => byHash.get(rawHash));
      const out = Array.from({ length: reader.length }, () => reader.read()!);
      reader.finish();
      return out;
    } catch (error) {
      if (error instanceof SupplierError) return error;
      throw error;
    }
  }

  it('takes a product with the stored bytes as stored, and parses one whose bytes changed', async () => {
    const entries = await readKnown([product('a'), product('b', 'new')], { a: product('a'), b: product('b') });
    expect(entries).toEqual([
      { kind: 'unchanged', productId: 'a' },
      { kind: 'product', product: JSON.parse(product('b', 'new')), rawHash: hash('sha256', product('b', 'new')) },
    ]);
  });

  it('still reports a duplicate id when a copy of known bytes appears twice, or a parsed product reuses its id', async () => {
    const twice = await readKnown([product('a'), product('a')], { a: product('a') });
    expect((twice as SupplierError).details).toEqual(['[1].id: duplicate product id "a" (first at [0])']);
    const reused = await readKnown([product('a'), product('a', 'other')], { a: product('a') });
    expect((reused as SupplierError).details).toEqual(['[1].id: duplicate product id "a" (first at [0])']);
  });
});

describe('CatalogReader quarantine', () => {
  const good = { id: 'good', options: [{ id: 'o', units: [{ id: 'u' }] }] };

  /** Reads a catalog of `good`, the product given as raw JSON text, and `good` again (under another id). */
  async function quarantineOf(productJson: string | Buffer, limits: ProductLimits = LIMITS) {
    const body = Buffer.concat([Buffer.from(`[${JSON.stringify(good)},`), Buffer.from(productJson), Buffer.from(`,${JSON.stringify({ ...good, id: 'good2' })}]`)]);
    const all = await entries(body, limits);
    if (all instanceof SupplierError) throw all;
    expect(all.map((e) => e.kind)).toEqual(['product', 'quarantined', 'product']);
    const entry = all[1]!;
    if (entry.kind !== 'quarantined') throw new Error('not quarantined');
    return entry.quarantine;
  }

  it('quarantines a NUL character in a value or a field name, with the JSON path', async () => {
    expect(await quarantineOf('{"id":"p","options":[{"id":"o","units":[{"id":"u","title":"a\\u0000b"}]}]}')).toEqual({
      productId: 'p',
      path: '[1].options[0].units[0].title',
      reason: 'the string contains a NUL character (U+0000), which Postgres cannot store',
    });
    expect(await quarantineOf('{"id":"p","options":[],"x\\u0000y":1}')).toEqual({
      productId: 'p',
      path: '[1]["x\\u0000y"]',
      reason: 'the field name contains a NUL character (U+0000), which Postgres cannot store',
    });
  });

  it('quarantines an unpaired surrogate escape, and accepts a paired one', async () => {
    expect(await quarantineOf('{"id":"p","options":[],"media":[{"caption":"x\\ud800"}]}')).toMatchObject({ path: '[1].media[0].caption', reason: expect.stringContaining('unpaired UTF-16 surrogate') });
    expect(await quarantineOf('{"id":"p","options":[],"note":"\\udc00 first"}')).toMatchObject({ path: '[1].note' });
    // in the id itself (or NUL there): an id Postgres cannot store matches no stored product
    expect(await quarantineOf('{"id":"p\\ud800","options":[]}')).toMatchObject({ productId: undefined, path: '[1].id' });
    expect(await quarantineOf('{"id":"p\\u0000","options":[]}')).toMatchObject({ productId: undefined, path: '[1].id' });
    const paired = await entries(Buffer.from('[{"id":"p","options":[],"title":"\\ud83d\\ude00"}]'));
    expect(paired).toEqual([{ kind: 'product', product: { id: 'p', options: [], title: '😀' }, rawHash: expect.any(String) }]);
  });

  it('quarantines nesting deeper than the canonicaliser accepts, and keeps a product at the limit', async () => {
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    // `deep` is one level below the product: it can hold CANONICAL_MAX_DEPTH levels of arrays.
    const atLimit = `{"id":"p","options":[],"deep":${nested(CANONICAL_MAX_DEPTH)}}`;
    const accepted = await entries(Buffer.from(`[${atLimit}]`));
    expect(accepted).toEqual([{ kind: 'product', product: JSON.parse(atLimit), rawHash: expect.any(String) }]);
    expect(() => canonicalJson(JSON.parse(atLimit))).not.toThrow();
    const tooDeep = `{"id":"p","options":[],"deep":${nested(CANONICAL_MAX_DEPTH + 1)}}`;
    expect(() => canonicalJson(JSON.parse(tooDeep))).toThrow(/deeper/);
    const q = await quarantineOf(tooDeep);
    expect(q).toMatchObject({ productId: 'p', reason: `the value nests deeper than ${CANONICAL_MAX_DEPTH} levels below the product` });
    expect(q.path).toMatch(/^\[1\]\.deep\[0\]\[0\].*\.\.\.$/);
    expect(q.path.length).toBeLessThanOrEqual(200);
    expect((await quarantineOf(`{"id":"p","options":[],"deep":${nested(100_000)}}`)).reason).toContain(String(CANONICAL_MAX_DEPTH));
  });

  it('quarantines a number that parses as Infinity', async () => {
    expect(await quarantineOf('{"id":"p","options":[{"id":"o","capacity":1e400}]}')).toMatchObject({ path: '[1].options[0].capacity', reason: expect.stringContaining('Infinity') });
  });

  it('quarantines a string or a product past its limit, measured in UTF-8 bytes', async () => {
    const limits = { maxProductBytes: 4096, maxStringBytes: 100 };
    expect(await quarantineOf(JSON.stringify({ id: 'p', options: [], description: 'é'.repeat(51) }), limits)).toEqual({
      productId: 'p',
      path: '[1].description',
      reason: 'the string is 102 bytes long, over the limit of 100 bytes per string',
    });
    expect(await entries(Buffer.from(JSON.stringify([{ id: 'p', options: [], description: 'é'.repeat(50) }])), limits)).toHaveLength(1);
    expect(await quarantineOf(JSON.stringify({ id: 'p', options: [], ['k'.repeat(101)]: 1 }), limits)).toMatchObject({ reason: expect.stringMatching(/^the field name is 101 bytes/) });
    const big = JSON.stringify({ id: 'p', options: [], items: Array.from({ length: 500 }, (_, i) => `item ${i}`) });
    expect(await quarantineOf(big, limits)).toEqual({ productId: 'p', path: '[1]', reason: `the product is ${big.length} bytes, over the limit of 4096 bytes per product` });
  });

  it('quarantines invalid UTF-8 bytes (never decoded silently), pointing at the string that holds them', async () => {
    const bytes = (before: string, bad: number[], after: string) => Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]);
    expect(await quarantineOf(bytes('{"id":"p","options":[{"id":"o","title":"caf', [0xe9], ' au lait \uFFFD"}]}'))).toEqual({
      productId: 'p',
      path: '[1].options[0].title',
      reason: 'the string contains bytes that are not valid UTF-8',
    });
    // an overlong encoding and an encoded surrogate are invalid too
    expect((await quarantineOf(bytes('{"id":"p","options":[],"a":"x', [0xc0, 0xaf], '"}'))).path).toBe('[1].a');
    expect((await quarantineOf(bytes('{"id":"p","options":[],"b":"x', [0xed, 0xa0, 0x80], '"}'))).path).toBe('[1].b');
    // in the id itself: the decoded id is not the supplier's, so it matches no stored product
    expect(await quarantineOf(bytes('{"id":"p', [0xff], '","options":[]}'))).toMatchObject({ productId: undefined, path: '[1].id' });
  });

  it('quarantines an object without a usable id, and still fails the catalog when its options are broken', async () => {
    expect(await quarantineOf('{"options":[]}')).toEqual({ productId: undefined, path: '[1].id', reason: 'the product id must be a non-empty string (got nothing)' });
    expect(await quarantineOf('{"id":7,"options":[]}')).toMatchObject({ reason: 'the product id must be a non-empty string (got a number)' });
    expect(await quarantineOf('{"id":"","options":[]}')).toMatchObject({ reason: 'the product id must be a non-empty string (got an empty string)' });
    expect(await entries(Buffer.from('[{"options":"x"}]'))).toMatchObject({ code: 'CATALOG_INVALID', details: ['[0].options: must be an array (got a string)'] });
    expect(parseCatalog(Buffer.from('[{"options":[]},{"id":"p","options":[]}]'))).toEqual([{ id: 'p', options: [] }]);
  });

  it('still refuses duplicate ids, also of quarantined products', async () => {
    expect(await entries(Buffer.from('[{"id":"p","options":[],"t":"\\u0000"},{"id":"p","options":[]}]'))).toMatchObject({ code: 'CATALOG_INVALID', details: ['[1].id: duplicate product id "p" (first at [0])'] });
  });
});


import { SupplierError } from './errors';
import { CatalogReader, parseCatalog, scanArrayElements } from './catalog';

/** The elements the scanner frames, each parsed on its own. */
function elements(text: string | Buffer): unknown[] | undefined {
  const body = typeof text === 'string' ? Buffer.from(text) : text;
  const bounds = scanArrayElements(body);
  if (bounds === undefined) return undefined;
  const out: unknown[] = [];
  for (let k = 0; k < bounds.length; k += 2) out.push(JSON.parse(body.toString('utf8', bounds[k], bounds[k + 1])));
  return out;
}

/** Everything a CatalogReader yields, or the error it throws. */
function readAll(body: Buffer): unknown[] | SupplierError {
  try {
    const reader = CatalogReader.open(body);
    const out: unknown[] = [];
    for (let i = 0; i < reader.length; i++) {
      const product = reader.read();
      if (product === undefined) break;
      out.push(product);
    }
    reader.finish();
    return out;
  } catch (error) {
    if (error instanceof SupplierError) return error;
    throw error;
  }
}

function parseAll(body: Buffer): unknown[] | SupplierError {
  try {
    return parseCatalog(body);
  } catch (error) {
    if (error instanceof SupplierError) return error;
    throw error;
  }
}

function sameOutcome(text: string | Buffer): void {
  const body = typeof text === 'string' ? Buffer.from(text) : text;
  const streamed = readAll(body);
  const whole = parseAll(body);
  if (whole instanceof SupplierError) {
    expect(streamed).toBeInstanceOf(SupplierError);
    const error = streamed as SupplierError;
    expect({ code: error.code, message: error.message, details: error.details }).toEqual({ code: whole.code, message: whole.message, details: whole.details });
  } else {
    expect(streamed).toEqual(whole);
  }
}

describe('scanArrayElements', () => {
  it('frames elements whose strings hold brackets, braces, commas, escaped quotes and backslashes', () => {
    const value = [
      { id: 'a]', s: '[{,}]', q: 'say "hi", [ok]', b: 'back\\slash\\', bq: '\\"', e: '' },
      { id: '\\', nested: [[1, [2, [3]]], { x: [] }, {}], t: 'tab\tnew\nline' },
      'plain string with ] and }',
      42,
      null,
      [],
      { id: 'ünïcödé ✓ 日本語 😀', key: '\u2028\u2029', esc: 'ascii \u0001' },
    ];
    const text = JSON.stringify(value);
    expect(elements(text)).toEqual(value);
    expect(elements(JSON.stringify(value, null, 2))).toEqual(value);
    // \u escapes of quotes and backslashes as the raw text has them
    expect(elements('[{"id":"\\u0022]","x":"\\\\"},"\\"[" ]')).toEqual([{ id: '"]', x: '\\' }, '"[']);
  });

  it('allows whitespace between and around elements, a BOM, and the empty array', () => {
    expect(elements(' \n\t[ \r\n{"id":"p"} ,\n\t{"id":"q"}\n ] \n')).toEqual([{ id: 'p' }, { id: 'q' }]);
    expect(elements(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[1]')]))).toEqual([1]);
    expect(scanArrayElements(Buffer.from('[]'))).toEqual([]);
    expect(scanArrayElements(Buffer.from(' [ \n ] '))).toEqual([]);
  });

  it('refuses anything not framed as one array', () => {
    for (const text of [
      '',
      '   ',
      '{"error":"UNAUTHORIZED"}',
      '"[1,2]"',
      '<html>[]</html>',
      '[1,2',
      '[{"id":"p","options":[',
      '[{"id":"p]',
      '[{"id":"p\\"}]',
      '[1]]',
      '[1] x',
      '[1][2]',
      '[{"a":1]}',
      '[1}',
      '[1]\u00a0',
    ]) {
      expect({ text, bounds: scanArrayElements(Buffer.from(text)) }).toEqual({ text, bounds: undefined });
    }
  });

  it('leaves elements that are not JSON to JSON.parse (blank, trailing comma, bad tokens)', () => {
    const bounds = scanArrayElements(Buffer.from('[1,,2,]'));
    expect(bounds).toHaveLength(8);
    expect(scanArrayElements(Buffer.from('[nope, {"a" 1}]'))).toHaveLength(4);
  });
});

describe('CatalogReader', () => {
  const product = (id: unknown, options: unknown = [{ id: 'o', units: [{ id: 'u' }] }]) => ({ id, options });

  it('yields the same products as parseCatalog, one at a time', () => {
    const catalog = [product('p1'), { ...product('p2 ] "x"'), extra: { a: ['[', ']'] } }, product('ü', [])];
    expect(readAll(Buffer.from(JSON.stringify(catalog, null, 1)))).toEqual(catalog);
    expect(readAll(Buffer.from('[]'))).toEqual([]);
  });

  it('fails exactly as parseCatalog does, for every kind of bad body', () => {
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
      sameOutcome(text);
    }
  });

  it('reports duplicate product ids across the whole catalog with their first position', () => {
    const catalog = [product('a'), product('b'), product('a'), product('b')];
    const error = readAll(Buffer.from(JSON.stringify(catalog)));
    expect(error).toBeInstanceOf(SupplierError);
    expect((error as SupplierError).details).toEqual(['[2].id: duplicate product id "a" (first at [0])', '[3].id: duplicate product id "b" (first at [1])']);
    sameOutcome(JSON.stringify(catalog));
  });

  it('stops yielding at the first problem but still reports every problem', () => {
    const reader = CatalogReader.open(Buffer.from(JSON.stringify([product('a'), product(''), product('c'), product(5)])));
    expect(reader.read()).toEqual(product('a'));
    expect(reader.read()).toBeUndefined();
    expect(reader.invalid).toBe(true);
    expect(() => reader.finish()).toThrow(expect.objectContaining({ code: 'CATALOG_INVALID', details: ['[1].id: must be a non-empty string (got an empty string)', '[3].id: must be a non-empty string (got a number)'] }));
  });
});

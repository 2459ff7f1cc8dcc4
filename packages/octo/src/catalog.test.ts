import { SupplierError } from './errors';
import { parseCatalog } from './catalog';

function buf(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}

function catalogError(body: Buffer): SupplierError {
  try {
    parseCatalog(body);
  } catch (error: unknown) {
    if (error instanceof SupplierError) return error;
    throw error;
  }
  throw new Error('parseCatalog accepted the body');
}

const product = (id: string, options: unknown = [{ id: 'DEFAULT', units: [{ id: 'adult' }] }]) => ({ id, options });

describe('parseCatalog, lenient cases', () => {
  it('accepts real-world quirks and returns the parsed objects untouched', () => {
    const catalog = [
      {
        id: 'p1',
        internalName: 'Old style',
        title: 'Old style',
        highlights: ['x'],
        coverImageUrl: 'https://img/x.jpg',
        reference: null,
        availabilityType: 'OPENING_HOURS',
        unknownVendorField: { nested: [1, 2] },
        options: [
          {
            id: 'DEFAULT',
            availabilityLocalStartTimes: ['00:00'],
            restrictions: { minUnits: null, maxUnits: null },
            units: [{ id: 'adult', type: 'SOMETHING_NEW', pricingFrom: [{ retail: 1000, currency: 'EUR', currencyPrecision: 2 }] }],
          },
        ],
      },
      { id: 'p2', options: [{ id: 'DEFAULT' }, { id: 'no-units', units: null }, { id: '', units: [{ id: '' }] }] },
      { id: 'p3', options: [] },
      { id: 'p4', options: [{ id: 'DEFAULT', units: [{ id: 'adult' }] }], vacancies: 5, status: 'FREESALE' },
    ];
    const parsed = parseCatalog(buf(catalog));
    expect(parsed).toEqual(catalog);
    expect(parsed[0]!.unknownVendorField).toEqual({ nested: [1, 2] });
  });

  it('accepts an empty catalog, a BOM and surrounding whitespace', () => {
    expect(parseCatalog(buf('[]'))).toEqual([]);
    expect(parseCatalog(Buffer.from('\ufeff \n[{"id":"p","options":[]}]\n'))).toHaveLength(1);
  });

  it('the same option id in two products and the same unit id in two options are fine', () => {
    const catalog = [product('a'), product('b'), product('c', [{ id: 'o1', units: [{ id: 'adult' }] }, { id: 'o2', units: [{ id: 'adult' }] }])];
    expect(parseCatalog(buf(catalog))).toHaveLength(3);
  });
});

describe('parseCatalog, structural problems', () => {
  it('not JSON: plain text, HTML, empty, truncated', () => {
    for (const [body, text] of [
      ['Internal error, try later', 'not valid JSON'],
      ['<html><body>502</body></html>', 'looks like HTML'],
      ['', 'body is empty'],
      ['[{"id":"p1","options":[', 'ends early'],
    ] as const) {
      const error = catalogError(buf(body));
      expect(error.code).toBe('CATALOG_NOT_JSON');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(text);
      expect(error.message).not.toContain('Internal error');
    }
  });

  it('top level must be an array, and says so when it is an OCTO error object', () => {
    const error = catalogError(buf({ error: 'UNAUTHORIZED', errorMessage: 'bad key' }));
    expect(error.code).toBe('CATALOG_INVALID');
    expect(error.details).toEqual(['(root): must be an array of products (got an object) (it is an OCTO error object: "UNAUTHORIZED")']);
    expect(catalogError(buf('"x"')).details).toEqual(['(root): must be an array of products (got a string)']);
    expect(catalogError(buf('null')).details).toEqual(['(root): must be an array of products (got null)']);
  });

  it('lists every structural problem with its path (a product without a usable id is not one: a sync quarantines it)', () => {
    const catalog = [
      product('ok'),
      'not a product',
      { options: [] },
      { id: 7, options: [] },
      { id: '', options: [] },
      { id: 'no-options' },
      { id: 'options-object', options: {} },
      { id: 'p7', options: [null, { units: [] }, { id: 3 }, { id: 'o', units: 'adult' }, { id: 'o2', units: [{}, 5, { id: 1 }] }] },
      product('ok'),
      { id: 'dup-opt', options: [{ id: 'A' }, { id: 'A' }] },
      { id: 'dup-unit', options: [{ id: 'A', units: [{ id: 'adult' }, { id: 'child' }, { id: 'adult' }] }] },
    ];
    const error = catalogError(buf(catalog));
    expect(error.code).toBe('CATALOG_INVALID');
    expect(error.retryable).toBe(false);
    expect(error.details).toEqual([
      '[1]: must be an object (got a string)',
      '[5].options: must be an array (got nothing)',
      '[6].options: must be an array (got an object)',
      '[7].options[0]: must be an object (got null)',
      '[7].options[1].id: must be a string (got nothing)',
      '[7].options[2].id: must be a string (got a number)',
      '[7].options[3].units: must be an array when present (got a string)',
      '[7].options[4].units[0].id: must be a string (got nothing)',
      '[7].options[4].units[1]: must be an object (got a number)',
      '[7].options[4].units[2].id: must be a string (got a number)',
      '[8].id: duplicate product id "ok" (first at [0])',
      '[9].options[1].id: duplicate option id "A" (first at [9].options[0])',
      '[10].options[0].units[2].id: duplicate unit id "adult" (first at [10].options[0].units[0])',
    ]);
    expect(error.message).toBe(`supplier's catalog is not usable (13 problems, first: [1]: must be an object (got a string))`);
  });

  it('caps the list and says how many more there are', () => {
    const catalog = Array.from({ length: 120 }, (_, i) => ({ id: `p${i}`, options: 5 }));
    const error = catalogError(buf(catalog));
    expect(error.details).toHaveLength(50 + 1);
    expect(error.details.at(-1)).toBe('... and 70 more problems');
    expect(error.message).toContain('120 problems');
  });

  it('checks a 100k-product catalog whole: a duplicate id at the end names the first one at the start', () => {
    const catalog = Array.from({ length: 100_000 }, (_, i) => product(`p${i}`));
    expect(parseCatalog(buf(catalog))).toHaveLength(100_000);
    catalog.push(product('p0'));
    expect(catalogError(buf(catalog)).details).toEqual(['[100000].id: duplicate product id "p0" (first at [0])']);
  });
});

import { generateCatalog, reformatJson, withProductRenamed, withUnitPrice, withoutProducts } from './generate-catalog';

describe('generateCatalog', () => {
  it('is deterministic for a seed and varies content, not ids, across seeds', () => {
    const a = generateCatalog({ products: 50, options: 3, units: 4, seed: 42 });
    expect(generateCatalog({ products: 50, options: 3, units: 4, seed: 42 })).toEqual(a);
    const b = generateCatalog({ products: 50, options: 3, units: 4, seed: 43 });
    expect(b).not.toEqual(a);
    expect(b.map((p) => p.id)).toEqual(a.map((p) => p.id));
  });

  it('has the shapes real suppliers send', () => {
    const catalog = generateCatalog({ products: 30, options: 2, units: 10, seed: 1 });
    expect(catalog).toHaveLength(30);
    expect(new Set(catalog.map((p) => p.id)).size).toBe(30);
    expect(catalog.some((p) => p.options[0]?.id === 'DEFAULT')).toBe(true);
    expect(catalog.some((p) => p.options[0]?.availabilityLocalStartTimes[0] === '00:00')).toBe(true);
    expect(catalog.some((p) => 'highlights' in p)).toBe(true);
    expect(catalog.every((p) => typeof p['x-supplier-rating'] === 'number')).toBe(true);
    for (const product of catalog) {
      expect(new Set(product.options.map((o) => o.id)).size).toBe(product.options.length);
      for (const option of product.options) {
        expect(new Set(option.units.map((u) => u.id)).size).toBe(10);
        for (const unit of option.units) {
          const [price] = unit.pricingFrom;
          expect(Number.isInteger(price?.retail)).toBe(true);
          expect(Number.isInteger(price?.net)).toBe(true);
          expect([0, 2]).toContain(price?.currencyPrecision);
        }
      }
    }
  });

  // How fast is for bench/, not for a test that may share the machine.
  it('generates 10,000 x 5 x 4', () => {
    const catalog = generateCatalog({ products: 10_000, options: 5, units: 4, seed: 9 });
    expect(catalog).toHaveLength(10_000);
    expect(catalog[9999]?.options[4]?.units.map((u) => u.id)).toEqual(['adult', 'child', 'infant', 'youth']);
  });
});

describe('catalog mutations', () => {
  const catalog = generateCatalog({ products: 3, options: 1, units: 2, seed: 5 });
  const productId = catalog[0]!.id;
  const optionId = catalog[0]!.options[0]!.id;

  it('changes one unit price in a copy', () => {
    const changed = withUnitPrice(catalog, { productId, optionId, unitId: 'adult' }, 12345);
    expect(changed[0]?.options[0]?.units[0]?.pricingFrom[0]?.retail).toBe(12345);
    expect(catalog[0]?.options[0]?.units[0]?.pricingFrom[0]?.retail).not.toBe(12345);
    expect(() => withUnitPrice(catalog, { productId, optionId, unitId: 'nobody' }, 1)).toThrow('no unit');
  });

  it('removes and renames products in copies', () => {
    expect(withoutProducts(catalog, [productId]).map((p) => p.id)).toEqual(catalog.slice(1).map((p) => p.id));
    expect(withProductRenamed(catalog, productId, 'New name')[0]?.internalName).toBe('New name');
    expect(catalog[0]?.internalName).not.toBe('New name');
  });

  it('reformatJson writes the same value with other key order and spacing', () => {
    const text = reformatJson(catalog);
    expect(text).not.toBe(JSON.stringify(catalog));
    expect(JSON.parse(text)).toEqual(catalog);
    expect(text.indexOf('"options"')).toBeLessThan(text.indexOf('"id"'));
  });
});

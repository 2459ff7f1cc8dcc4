import type { OctoProduct } from './catalog';
import { ShapeRecorder, shapeDrift, shapeHash, type CatalogShape } from './catalog-shape';

const headers = { contentType: 'application/json; charset=utf-8', octoHeaders: { octoCapabilities: 'octo/pricing, octo/content' } };

function product(id: string, extra: Record<string, unknown> = {}): OctoProduct {
  return { id, title: 'T', ...extra, options: [{ id: 'o', restrictions: { minUnits: 1 }, units: [{ id: 'u', pricingFrom: [{ retail: 100 }] }] }] };
}

function shapeOf(products: OctoProduct[], accepted: CatalogShape | null = null): CatalogShape {
  const recorder = new ShapeRecorder(accepted);
  for (const p of products) recorder.product(p);
  return recorder.shape(headers);
}

describe('ShapeRecorder', () => {
  it('records each entity kind its own paths and types, and the answer capabilities and headers', () => {
    const shape = shapeOf([product('a'), product('b', { title: null })]);
    expect(shape.paths).toEqual({
      'option.id': ['string'],
      'option.restrictions': ['object'],
      'option.restrictions.minUnits': ['number'],
      'option.units': ['array'],
      'product.id': ['string'],
      'product.options': ['array'],
      'product.title': ['string', 'null'],
      'unit.id': ['string'],
      'unit.pricingFrom': ['array'],
      'unit.pricingFrom[]': ['object'],
      'unit.pricingFrom[].retail': ['number'],
    });
    expect(shape.capabilities).toEqual(['octo/content', 'octo/pricing']);
    expect(shape.headers).toEqual(['content-type: application/json', 'octo-capabilities']);
  });

  it('names the first path a product adds or retypes against the accepted shape, none for a baseline', () => {
    const accepted = shapeOf([product('a')]);
    expect(new ShapeRecorder(null).product(product('a', { subtitle: 'x' }))).toBeUndefined();
    const recorder = new ShapeRecorder(accepted);
    expect(recorder.product(product('a'))).toBeUndefined();
    expect(recorder.product(product('b', { subtitle: 'x' }))).toBe('product.subtitle');
    expect(recorder.product(product('c', { title: 7 }))).toBe('product.title');
  });

  it('keeps the accepted paths when a product was not walked (a removal needs every product)', () => {
    const accepted = shapeOf([product('a', { subtitle: 'x' })]);
    const recorder = new ShapeRecorder(accepted);
    recorder.product(product('b'));
    recorder.skipped();
    expect(shapeDrift(accepted, recorder.shape(headers))).toBeNull();
  });
});

describe('shapeDrift', () => {
  it('lists added, removed and retyped paths and dropped capabilities', () => {
    const before = shapeOf([product('a', { subtitle: 'x' })]);
    const after = { ...shapeOf([product('a', { title: 3, duration: 60 })]), capabilities: ['octo/content'] };
    expect(shapeDrift(before, after)).toEqual({
      added: [{ path: 'product.duration', types: ['number'] }],
      removed: [{ path: 'product.subtitle', types: ['string'] }],
      retyped: [{ path: 'product.title', from: ['string'], to: ['number'] }],
      capabilities: { added: [], removed: ['octo/pricing'] },
      headers: { added: [], removed: [] },
    });
    expect(shapeDrift(before, shapeOf([product('z', { subtitle: 'y' })]))).toBeNull();
    expect(shapeHash(before)).toBe(shapeHash(shapeOf([product('q', { subtitle: 'other' })])));
  });
});

describe('ShapeRecorder after a novelty', () => {
  it('still records every path of the product and of the ones after it', () => {
    const recorder = new ShapeRecorder(shapeOf([product('a')]));
    expect(recorder.product(product('b', { subtitle: 'x', extra: { deep: 1 } }))).toBe('product.subtitle');
    const paths = recorder.shape(headers).paths;
    expect(paths['product.extra.deep']).toEqual(['number']);
    expect(paths['unit.pricingFrom[].retail']).toEqual(['number']);
  });
});

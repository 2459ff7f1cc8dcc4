import { createHash } from 'node:crypto';
import { canonicalHash, canonicalSplit, parseCatalog, updateCanonical, type OctoProduct } from '@octo-sync/octo';
import { generateCatalog, reformatJson } from '@octo-sync/testkit';
import { CatalogMapper, type CatalogRows } from './map-catalog';

/** Maps products as a sync does, one at a time; returns the rows and the catalog hash. */
function mapAll(products: readonly OctoProduct[]): { rows: CatalogRows; hash: string } {
  const rows: CatalogRows = { products: [], options: [], units: [] };
  const mapper = new CatalogMapper();
  for (const product of products) mapper.map(product, rows);
  return { rows, hash: mapper.digest() };
}

/** What the one-pass mapping must reproduce: each product and each row hashed on its own, the catalog from the products' hashes. */
function reference(products: OctoProduct[]) {
  const treeHashes = products.map((p) => updateCanonical(createHash('sha256'), p).digest('hex'));
  const catalog = createHash('sha256').update(treeHashes.map((h) => `${h}\n`).join('')).digest('hex');
  const productHashes = products.map(({ options: _o, ...raw }) => canonicalHash(raw));
  const optionHashes = products.flatMap((p) => p.options.map(({ units: _u, ...raw }) => canonicalHash(raw)));
  const unitHashes = products.flatMap((p) => p.options.flatMap((o) => (o.units ?? []).map((u) => canonicalHash(u))));
  return { catalog, treeHashes, productHashes, optionHashes, unitHashes };
}

function expectSameAsReference(products: OctoProduct[]): void {
  const { rows, hash } = mapAll(products);
  const expected = reference(products);
  expect(hash).toBe(expected.catalog);
  expect(rows.products.map((r) => r.content_hash)).toEqual(expected.productHashes);
  expect(rows.products.map((r) => r.tree_hash)).toEqual(expected.treeHashes);
  expect(rows.options.map((r) => r.content_hash)).toEqual(expected.optionHashes);
  expect(rows.units.map((r) => r.content_hash)).toEqual(expected.unitHashes);
}

describe('CatalogMapper hashes in one pass', () => {
  it('gives the catalog hash and every row hash exactly as hashing them separately does', () => {
    const catalog = parseCatalog(Buffer.from(JSON.stringify(generateCatalog({ products: 40, options: 3, units: 4, seed: 3 }))));
    expectSameAsReference(catalog);
  });

  it('does not depend on key order or whitespace', () => {
    const generated = generateCatalog({ products: 5, options: 2, units: 2, seed: 4 });
    const a = mapAll(parseCatalog(Buffer.from(JSON.stringify(generated))));
    const b = mapAll(parseCatalog(Buffer.from(reformatJson(generated))));
    expect(b.hash).toBe(a.hash);
    expect(b.rows.units.map((u) => u.content_hash)).toEqual(a.rows.units.map((u) => u.content_hash));
  });

  it('handles missing, null and empty children and keys that sort around the child key', () => {
    const products = parseCatalog(
      Buffer.from(
        JSON.stringify([
          { id: 'p1', options: [] },
          { options: [{ id: 'o1' }, { id: 'o2', units: null }, { units: [], id: 'o3' }], id: 'p2', zeta: 1, alpha: [null, { b: 1, a: '\u00e9\u2028' }] },
          { id: 'p3', opt: 1, optionsz: 2, options: [{ id: 'o9', unit: 'x', units: [{ id: 'u1', unitsa: true }], unitz: -0 }] },
          { options: [{ id: '', units: [{ id: '' }] }], id: 'p4' },
        ]),
      ),
    );
    expectSameAsReference(products);
    expect(mapAll([])).toEqual({ rows: { products: [], options: [], units: [] }, hash: reference([]).catalog });
  });
});

describe('canonicalSplit', () => {
  it('splits an object around a key', () => {
    const split = canonicalSplit({ b: 1, units: [2], a: { d: 1, c: 2 } }, 'units');
    expect(split.own).toBe('{"a":{"c":2,"d":1},"b":1}');
    expect(split.withChild('[2]')).toBe('{"a":{"c":2,"d":1},"b":1,"units":[2]}');
    expect(canonicalSplit({ units: 1 }, 'units').withChild('1')).toBe('{"units":1}');
    expect(canonicalSplit({ units: 1 }, 'units').own).toBe('{}');
    expect(canonicalSplit({ a: 1 }, 'units').withChild('[]')).toBe('{"a":1}');
  });
});

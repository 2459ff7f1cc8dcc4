import type { RunWarnings } from '@octo-sync/db';
import { CANONICAL_MAX_DEPTH } from '@octo-sync/octo';
import { cloneCatalog, generateCatalog, withUnitPrice, type GeneratedProduct } from '@octo-sync/testkit';
import { startHarness, storedCatalog, type Harness } from './harness';

const MAX_PRODUCT_BYTES = 20_000;
const MAX_STRING_BYTES = 4_096;

/** A catalog body from products given as JSON text or raw bytes (which may be invalid UTF-8). */
function body(products: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from('[')];
  products.forEach((p, i) => parts.push(Buffer.from(i === 0 ? '' : ','), Buffer.isBuffer(p) ? p : Buffer.from(p)));
  parts.push(Buffer.from(']'));
  return Buffer.concat(parts);
}

/** `product` as JSON with `"title"` replaced by `title` (raw JSON text or bytes, spliced as is). */
function withRawTitle(product: GeneratedProduct, title: string | Buffer): Buffer {
  const text = JSON.stringify({ ...product, title: '@@TITLE@@' });
  const [before, after] = text.split('"@@TITLE@@"') as [string, string];
  return Buffer.concat([Buffer.from(before), Buffer.from(title), Buffer.from(after)]);
}

/**
 * One product that cannot be stored as sent never blocks the others: it is quarantined (its stored
 * version untouched, not removed), listed in the run's warnings, and the run succeeds at once.
 */
describe('catalog.sync: quarantined products', () => {
  let h: Harness;
  const catalog = generateCatalog({ products: 12, options: 2, units: 2, seed: 11 });
  const [nul, surrogate, deep, badUtf8, huge, noId, longString, infinite] = catalog;

  /** The catalog with eight products that cannot be stored, and good changes around them. */
  function brokenCatalog(): Buffer {
    const changed = withUnitPrice(catalog, { productId: catalog[8]!.id, optionId: catalog[8]!.options[0]!.id, unitId: catalog[8]!.options[0]!.units[0]!.id }, 12_345);
    const nested = `${'['.repeat(CANONICAL_MAX_DEPTH + 1)}${']'.repeat(CANONICAL_MAX_DEPTH + 1)}`;
    const { id: _id, ...withoutId } = noId!;
    return body([
      withRawTitle(nul!, '"Harbour\\u0000Cruise"'),
      withRawTitle(surrogate!, '"Castle \\ud800 Visit"'),
      withRawTitle(deep!, nested),
      withRawTitle(badUtf8!, Buffer.concat([Buffer.from('"Caf'), Buffer.from([0xe9]), Buffer.from(' Tour"')])),
      JSON.stringify({ ...huge, gallery: Array.from({ length: 2_500 }, (_, i) => `image-${i}.jpg`) }),
      JSON.stringify({ ...withoutId, title: 'lost its id' }),
      JSON.stringify({ ...longString, description: 'long '.repeat(1_000) }),
      withRawTitle(infinite!, '1e400'),
      ...changed.slice(8).map((p) => JSON.stringify(p)),
      JSON.stringify({ ...cloneCatalog(catalog[9]!), id: 'prod-new' }),
    ]);
  }

  beforeAll(async () => {
    h = await startHarness({ SYNC_MAX_PRODUCT_BYTES: String(MAX_PRODUCT_BYTES), SYNC_MAX_STRING_BYTES: String(MAX_STRING_BYTES) });
  });
  afterAll(() => h.close());

  it('keeps every bad product as stored, writes the good ones, and succeeds in one attempt and one fetch', async () => {
    const integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    expect(await h.sync(integrationId)).toMatchObject({ status: 'succeeded' });
    const before = await storedCatalog(h.db, integrationId);

    h.supplier.setRawBody(brokenCatalog());
    const requests = h.supplier.requests.length;
    const run = await h.sync(integrationId);

    expect(run).toMatchObject({ status: 'succeeded', attempts: 1, errorCode: null, errorMessage: null });
    expect(h.supplier.requests.length - requests).toBe(1);
    expect(run.counts).toMatchObject({ products: { quarantined: 8, created: 1, updated: 0, unchanged: 4, removed: 0 }, units: { updated: 1 } });
    const warnings = run.warnings as unknown as RunWarnings;
    expect(warnings.omitted).toBe(0);
    expect(warnings.items).toEqual([
      { product_id: nul!.id, path: '[0].title', reason: 'the string contains a NUL character (U+0000), which Postgres cannot store' },
      { product_id: surrogate!.id, path: '[1].title', reason: 'the string contains an unpaired UTF-16 surrogate, which is not Unicode text' },
      { product_id: deep!.id, path: expect.stringMatching(/^\[2\]\.title\[0\]\[0\].*\.\.\.$/), reason: `the value nests deeper than ${CANONICAL_MAX_DEPTH} levels below the product` },
      { product_id: badUtf8!.id, path: '[3].title', reason: 'the string contains bytes that are not valid UTF-8' },
      { product_id: huge!.id, path: '[4]', reason: expect.stringMatching(new RegExp(`^the product is \\d+ bytes, over the limit of ${MAX_PRODUCT_BYTES} bytes per product$`)) },
      { product_id: null, path: '[5].id', reason: 'the product id must be a non-empty string (got nothing)' },
      { product_id: longString!.id, path: '[6].description', reason: `the string is 5000 bytes long, over the limit of ${MAX_STRING_BYTES} bytes per string` },
      { product_id: infinite!.id, path: '[7].title', reason: 'the number is too large to represent (it parses as Infinity)' },
      // the product without an id may be any stored product missing from the catalog: none is removed
      { product_id: null, path: '(root)', reason: '1 stored product is missing from the catalog but not deactivated: a product without an id may be one of them' },
    ]);

    const after = await storedCatalog(h.db, integrationId);
    const bad = new Set(catalog.slice(0, 8).map((p) => p.id));
    // byte for byte: same rows, same raw JSON, same hashes, same timestamps, still active
    expect(after.filter((p) => bad.has(p.octoId))).toEqual(before.filter((p) => bad.has(p.octoId)));
    expect(after.find((p) => p.octoId === 'prod-new')).toMatchObject({ active: true, title: catalog[9]!.title });
    const repriced = after.find((p) => p.octoId === catalog[8]!.id)!.options.find((o) => o.octoId === catalog[8]!.options[0]!.id)!;
    expect(repriced.units.find((u) => u.octoId === catalog[8]!.options[0]!.units[0]!.id)!.pricingFrom).toMatchObject([{ retail: 12_345 }]);
    expect(await h.db.integrations.findById(integrationId)).toMatchObject({ syncStatus: 'idle', syncErrorCode: null });

    // The same bytes again: read again (not skipped unread), so the run reports what is still quarantined.
    const again = await h.sync(integrationId);
    expect(again).toMatchObject({ status: 'skipped', attempts: 1 });
    expect((again.warnings as unknown as RunWarnings).items).toHaveLength(9);

    // Fixed: every product is written, and nothing is reported any more.
    h.supplier.setCatalog(catalog);
    const fixed = await h.sync(integrationId);
    expect(fixed).toMatchObject({ status: 'succeeded', warnings: null });
    expect(fixed.counts).toMatchObject({ products: { quarantined: 0, removed: 1 } });
  });

  it('a quarantined product is not a removal: the mass-removal guard ignores it', async () => {
    const integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
    // Seven of twelve quarantined and one really gone: counted as removals, eight would trip the guard.
    const products = catalog.slice(0, 11).map((p, i) => (i < 7 ? withRawTitle(p, '"\\u0000"') : JSON.stringify(p)));
    h.supplier.setRawBody(body(products));
    const run = await h.sync(integrationId);
    expect(run).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(run.counts).toMatchObject({ products: { quarantined: 7, unchanged: 4, removed: 1 } });
    const stored = await storedCatalog(h.db, integrationId);
    expect(stored.filter((p) => p.active).map((p) => p.octoId)).toEqual(catalog.slice(0, 11).map((p) => p.id));
    expect(stored.find((p) => p.octoId === catalog[11]!.id)).toMatchObject({ active: false });
  });

  it('a catalog broken as a whole still fails the run, once', async () => {
    const integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
    const before = await storedCatalog(h.db, integrationId);
    h.supplier.setRawBody(JSON.stringify({ products: catalog }));
    const requests = h.supplier.requests.length;
    const run = await h.sync(integrationId);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'CATALOG_INVALID', attempts: 1, warnings: null });
    expect(h.supplier.requests.length - requests).toBe(1);
    expect(await storedCatalog(h.db, integrationId)).toEqual(before);
  });

  it('a catalog in which no product can be stored is broken as a whole: the run fails, once, and nothing changes', async () => {
    const integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
    const before = await storedCatalog(h.db, integrationId);
    h.supplier.setRawBody(body(catalog.map(({ id: _id, ...withoutId }) => JSON.stringify(withoutId))));
    const run = await h.sync(integrationId);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'CATALOG_INVALID', attempts: 1 });
    expect(run.errorMessage).toMatch(/no product of the catalog can be stored: \[0\]\.id: /);
    expect(await storedCatalog(h.db, integrationId)).toEqual(before);
  });

  it('a lone surrogate escape in an id, an option id, a field name or a nested field: quarantined and named, nothing stored changes', async () => {
    const integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
    const before = await storedCatalog(h.db, integrationId);
    // Raw text, as a supplier sends it: the escapes are in the bytes (Postgres refuses them in jsonb).
    const edits: Array<(json: string) => string> = [
      (j) => j.replace(/^\{"id":"([^"]*)"/, '{"id":"$1\\ud800"'),
      (j) => j.replace(/"options":\[\{"id":"([^"]*)"/, '"options":[{"id":"$1\\udc00"'),
      (j) => j.replace(/^\{/, '{"k\\ud800":1,'),
      (j) => j.replace(/^\{/, '{"extra":{"deep":["x\\udc00"]},'),
    ];
    h.supplier.setRawBody(body(catalog.map((p, i) => (edits[i] ?? ((j: string) => j))(JSON.stringify(p)))));
    const run = await h.sync(integrationId);
    expect(run).toMatchObject({ status: 'succeeded', attempts: 1, counts: { products: { quarantined: 4, unchanged: catalog.length - 4, removed: 0 } } });
    const reason = (what: string) => `the ${what} contains an unpaired UTF-16 surrogate, which is not Unicode text`;
    expect((run.warnings as unknown as RunWarnings).items).toEqual([
      // an id that cannot be stored is no id: the product it stands for may be any stored one
      { product_id: null, path: '[0].id', reason: reason('string') },
      { product_id: catalog[1]!.id, path: '[1].options[0].id', reason: reason('string') },
      { product_id: catalog[2]!.id, path: '[2]["k\\ud800"]', reason: reason('field name') },
      { product_id: catalog[3]!.id, path: '[3].extra.deep[0]', reason: reason('string') },
      { product_id: null, path: '(root)', reason: '1 stored product is missing from the catalog but not deactivated: a product without an id may be one of them' },
    ]);
    expect(await storedCatalog(h.db, integrationId)).toEqual(before);
  });
});

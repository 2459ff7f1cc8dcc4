import { generateCatalog, withUnitPrice, type GeneratedProduct } from '@octo-sync/testkit';
import { catalogRowVersions, rowsWrittenSince, startHarness, type Harness } from './harness';

/** A copy of `catalog` whose product `index` keeps only its first option, and that option all but its first unit. */
function trimmed(catalog: GeneratedProduct[], index: number): GeneratedProduct[] {
  const copy = structuredClone(catalog);
  const product = copy[index]!;
  product.options = product.options.slice(0, 1);
  product.options[0]!.units = product.options[0]!.units.slice(1);
  return copy;
}

function priceChanged(catalog: GeneratedProduct[], index: number, retail: number): GeneratedProduct[] {
  const p = catalog[index]!;
  return withUnitPrice(catalog, { productId: p.id, optionId: p.options[0]!.id, unitId: p.options[0]!.units[0]!.id }, retail);
}

describe('catalog.sync: products whose bytes are the stored ones', () => {
  let h: Harness;
  const catalog = generateCatalog({ products: 10, options: 2, units: 3, seed: 11 });

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const fingerprints = async (integrationId: string) =>
    (
      await h.db.prisma.product.findMany({ where: { integrationId }, select: { octoId: true, contentHash: true, fingerprint: true }, orderBy: { octoId: 'asc' } })
    ).map(({ octoId, contentHash, fingerprint }) => ({ octoId, contentHash, rawHash: fingerprint?.rawHash ?? null, treeHash: fingerprint?.treeHash ?? null }));

  it('counts and hashes exactly as a full parse does, keeping children removed under an unparsed product', async () => {
    const integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
    // Product 2 loses an option and a unit: its own row is unchanged, only its fingerprints move.
    h.supplier.setCatalog(trimmed(catalog, 2));
    const trim = await h.sync(integrationId);
    expect(trim.counts).toMatchObject({ products: { updated: 0, unchanged: 10 }, options: { removed: 1 }, units: { removed: 1 } });
    // Product 2 is now unparsed (same bytes); product 5 changes.
    const final = priceChanged(trimmed(catalog, 2), 5, 4_321);
    h.supplier.setCatalog(final);
    const versions = await catalogRowVersions(h.db, integrationId);
    const run = await h.sync(integrationId);
    expect(run.counts).toEqual({
      products: { created: 0, updated: 0, unchanged: 10, removed: 0, quarantined: 0 },
      options: { created: 0, updated: 0, unchanged: 19, removed: 0 },
      units: { created: 0, updated: 1, unchanged: 55, removed: 0 },
    });
    expect(await rowsWrittenSince(h.db, integrationId, versions)).toBe(1);

    // The same catalog synced fresh into another integration: the same catalog hash and fingerprints.
    const fresh = await h.createIntegration();
    const freshRun = await h.sync(fresh);
    expect(freshRun.hash).toBe(run.hash);
    const strip = (rows: Awaited<ReturnType<typeof fingerprints>>) => rows.map(({ octoId, rawHash, treeHash }) => ({ octoId, rawHash, treeHash }));
    expect(strip(await fingerprints(integrationId))).toEqual(strip(await fingerprints(fresh)));
  });

  it('does not parse a product whose bytes are the stored ones, and fills in the fingerprints of products stored without them', async () => {
    const integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
    // A stored row that no longer matches its content hash would be rewritten by a parse: it is not.
    const marked = catalog[1]!.id;
    await h.db.prisma.product.updateMany({ where: { integrationId, octoId: marked }, data: { contentHash: 'not-parsed' } });
    // Products stored before fingerprints existed are parsed, and get them, without a row written.
    const legacy = catalog[3]!.id;
    await h.db.prisma.productFingerprint.deleteMany({ where: { product: { integrationId, octoId: legacy } } });
    h.supplier.setCatalog(priceChanged(catalog, 7, 1_234));
    const versions = await catalogRowVersions(h.db, integrationId);
    const run = await h.sync(integrationId);
    expect(run.counts).toMatchObject({ products: { updated: 0, unchanged: 10 }, units: { updated: 1 } });
    expect(await rowsWrittenSince(h.db, integrationId, versions)).toBe(1);
    const rows = await fingerprints(integrationId);
    expect(rows.find((r) => r.octoId === marked)!.contentHash).toBe('not-parsed');
    expect(rows.every((r) => r.rawHash !== null && r.treeHash !== null)).toBe(true);
  });
});

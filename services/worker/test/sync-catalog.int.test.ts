import { generateCatalog, reformatJson, withoutProducts, withProductRenamed, withUnitPrice } from '@octo-sync/testkit';
import { AUTH_KEY, catalogRowVersions, rowsWrittenSince, startHarness, storedCatalog, type Harness } from './harness';

describe('catalog.sync: what a run writes', () => {
  let h: Harness;
  const catalog = generateCatalog({ products: 12, options: 2, units: 3, seed: 7 });

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  /** A new integration that has synced `catalog` once: each test starts from there, whatever ran before it. */
  async function synced(): Promise<string> {
    const id = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(id);
    return id;
  }

  it('first sync creates every product, option and unit, with the headers OCTO expects (content included)', async () => {
    const integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    const run = await h.sync(integrationId);

    expect(run).toMatchObject({ status: 'succeeded', synced: 12, attempts: 1, errorCode: null });
    expect(run.counts).toEqual({
      products: { created: 12, updated: 0, unchanged: 0, removed: 0, quarantined: 0 },
      options: { created: 24, updated: 0, unchanged: 0, removed: 0 },
      units: { created: 72, updated: 0, unchanged: 0, removed: 0 },
    });
    expect(run.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(run.payloadBytes).toBe(Buffer.byteLength(JSON.stringify(catalog)));

    const stored = await storedCatalog(h.db, integrationId);
    expect(stored.map((p) => p.octoId)).toEqual(catalog.map((p) => p.id).sort());
    const first = catalog[0]!;
    const row = stored.find((p) => p.octoId === first.id)!;
    expect(row).toMatchObject({ active: true, removedAt: null, internalName: first.internalName, title: first.title as string });
    expect((row.raw as Record<string, unknown>).options).toBeUndefined();
    expect(row.options).toHaveLength(2);
    expect(row.options[0]!.units).toHaveLength(3);
    const unit = first.options[0]!.units[0]!;
    const storedUnit = stored.find((p) => p.octoId === first.id)!.options.find((o) => o.octoId === first.options[0]!.id)!.units.find((u) => u.octoId === unit.id)!;
    expect(storedUnit.raw).toEqual(unit);
    expect(storedUnit.pricingFrom).toEqual(unit.pricingFrom);

    const integration = await h.db.integrations.findById(integrationId);
    expect(integration).toMatchObject({ syncStatus: 'idle', lastSyncHash: run.hash, syncErrorMessage: null });
    expect(integration!.lastSyncAt).toBeInstanceOf(Date);

    const request = h.supplier.requests.at(-1)!;
    expect(request).toMatchObject({ method: 'GET', path: '/products' });
    expect(request.headers).toMatchObject({
      authorization: `Bearer ${AUTH_KEY}`,
      'octo-capabilities': 'octo/content, octo/pricing',
      'content-type': 'application/json',
      accept: 'application/json',
    });
    expect(request.headers['user-agent']).toMatch(/^octo-sync\//);
  });

  it('an unchanged catalog is skipped: no catalog row written, last_sync_at kept, last_checked_at moved', async () => {
    const integrationId = await synced();
    const before = await h.db.integrations.findById(integrationId);
    const versions = await catalogRowVersions(h.db, integrationId);
    const since = new Date();
    const run = await h.sync(integrationId);
    expect(run).toMatchObject({ status: 'skipped', synced: 0, hash: before!.lastSyncHash });
    expect(await rowsWrittenSince(h.db, integrationId, versions)).toBe(0);
    const after = await h.db.integrations.findById(integrationId);
    expect(after!.lastSyncAt).toEqual(before!.lastSyncAt);
    expect(after!.lastCheckedAt!.getTime()).toBeGreaterThanOrEqual(since.getTime());
  });

  it('the same catalog with reordered keys and new whitespace is skipped too', async () => {
    const integrationId = await synced();
    const versions = await catalogRowVersions(h.db, integrationId);
    h.supplier.setRawBody(reformatJson(catalog, 3));
    const run = await h.sync(integrationId);
    expect(run).toMatchObject({ status: 'skipped', synced: 0 });
    expect(await rowsWrittenSince(h.db, integrationId, versions)).toBe(0);
  });

  it('one changed price writes only that unit, and the counts say so', async () => {
    const integrationId = await synced();
    const p = catalog[3]!;
    const changed = withUnitPrice(catalog, { productId: p.id, optionId: p.options[1]!.id, unitId: p.options[1]!.units[2]!.id }, 98_765);
    h.supplier.setCatalog(changed);
    const versions = await catalogRowVersions(h.db, integrationId);
    const run = await h.sync(integrationId);
    expect(run).toMatchObject({ status: 'succeeded', synced: 1 });
    expect(run.counts).toEqual({
      products: { created: 0, updated: 0, unchanged: 12, removed: 0, quarantined: 0 },
      options: { created: 0, updated: 0, unchanged: 24, removed: 0 },
      units: { created: 0, updated: 1, unchanged: 71, removed: 0 },
    });
    expect(await rowsWrittenSince(h.db, integrationId, versions)).toBe(1);
    const stored = await storedCatalog(h.db, integrationId);
    const unit = stored.find((x) => x.octoId === p.id)!.options.find((o) => o.octoId === p.options[1]!.id)!.units.find((u) => u.octoId === p.options[1]!.units[2]!.id)!;
    expect((unit.pricingFrom as Array<{ retail: number }>)[0]!.retail).toBe(98_765);
  });

  it('renaming a product updates it in place (matched by OCTO id, never duplicated)', async () => {
    const integrationId = await synced();
    const renamed = withProductRenamed(catalog, catalog[0]!.id, 'A brand new internal name');
    h.supplier.setCatalog(renamed);
    const run = await h.sync(integrationId);
    expect(run.counts).toMatchObject({ products: { created: 0, updated: 1, unchanged: 11, removed: 0 } });
    const stored = await storedCatalog(h.db, integrationId);
    expect(stored).toHaveLength(12);
    expect(stored.find((p) => p.octoId === catalog[0]!.id)!.internalName).toBe('A brand new internal name');
  });

  it('a product missing from the catalog becomes inactive, and comes back when it reappears', async () => {
    const integrationId = await synced();
    const gone = catalog[5]!.id;
    h.supplier.setCatalog(withoutProducts(catalog, [gone]));
    const removal = await h.sync(integrationId);
    expect(removal.counts).toMatchObject({ products: { removed: 1, unchanged: 11 } });
    let row = (await storedCatalog(h.db, integrationId)).find((p) => p.octoId === gone)!;
    expect(row.active).toBe(false);
    expect(row.removedAt).toBeInstanceOf(Date);
    expect(row.options).toHaveLength(2);

    h.supplier.setCatalog(catalog);
    const back = await h.sync(integrationId);
    expect(back.counts).toMatchObject({ products: { created: 0, updated: 1, unchanged: 11, removed: 0 } });
    row = (await storedCatalog(h.db, integrationId)).find((p) => p.octoId === gone)!;
    expect(row).toMatchObject({ active: true, removedAt: null });
    expect(await h.db.prisma.product.count({ where: { integrationId } })).toBe(12);
  });

  it('options and units that disappear from a product that stays are removed', async () => {
    const integrationId = await synced();
    const trimmed = structuredClone(catalog);
    const product = trimmed[2]!;
    product.options = product.options.slice(0, 1);
    product.options[0]!.units = product.options[0]!.units.slice(1);
    h.supplier.setCatalog(trimmed);
    const run = await h.sync(integrationId);
    expect(run.counts).toMatchObject({
      options: { removed: 1, unchanged: 23 },
      units: { removed: 1, unchanged: 68 },
    });
    expect(run.synced).toBe(1);
    h.supplier.setCatalog(catalog);
    const back = await h.sync(integrationId);
    expect(back.counts).toMatchObject({ options: { updated: 1, removed: 0 }, units: { updated: 1, removed: 0 } });
  });

  it('the mass-removal guard fails a truncated catalog and writes nothing, unless forced', async () => {
    const integrationId = await synced();
    const before = await storedCatalog(h.db, integrationId);
    const truncated = catalog.slice(0, 3);
    h.supplier.setCatalog(truncated);
    const blocked = await h.sync(integrationId);
    expect(blocked).toMatchObject({ status: 'failed', errorCode: 'MASS_REMOVAL_BLOCKED', attempts: 1 });
    expect(blocked.errorMessage).toMatch(/deactivate 9 of 12 active products/);
    expect(await storedCatalog(h.db, integrationId)).toEqual(before);
    expect(await h.db.integrations.findById(integrationId)).toMatchObject({ syncStatus: 'error', syncErrorCode: 'MASS_REMOVAL_BLOCKED' });

    const forced = await h.sync(integrationId, { force: true });
    expect(forced).toMatchObject({ status: 'succeeded', force: true });
    expect(forced.counts).toMatchObject({ products: { removed: 9 } });
    expect(await h.db.integrations.findById(integrationId)).toMatchObject({ syncStatus: 'idle', syncErrorCode: null, syncErrorMessage: null });

    h.supplier.setCatalog(catalog);
    await h.sync(integrationId, { force: true });
    expect(await h.db.prisma.product.count({ where: { integrationId, active: true } })).toBe(12);
  });

  it('sends an api_key credential raw, without a scheme', async () => {
    const id = await h.createIntegration({ authType: 'api_key' });
    await h.sync(id);
    expect(h.supplier.requests.at(-1)!.headers.authorization).toBe(AUTH_KEY);
  });

  it("a change in a unit alone does not rewrite its product's row: only the product's fingerprints move", async () => {
    const id = await h.createIntegration();
    const own = generateCatalog({ products: 3, options: 2, units: 2, seed: 23 });
    h.supplier.setCatalog(own);
    await h.sync(id);
    const p = own[1]!;
    const product = async () => {
      const { rows } = await h.db.pool.query<{ version: string; tree: string | null }>(
        'SELECT p.xmin::text AS version, f.tree_hash AS tree FROM products p LEFT JOIN product_fingerprints f ON f.product_id = p.id WHERE p.integration_id = $1::uuid AND p.octo_id = $2',
        [id, p.id],
      );
      return rows[0]!;
    };
    const before = await product();
    h.supplier.setCatalog(withUnitPrice(own, { productId: p.id, optionId: p.options[0]!.id, unitId: p.options[0]!.units[1]!.id }, 12_345));
    const run = await h.sync(id);
    expect(run.counts).toMatchObject({ products: { updated: 0, unchanged: 3 }, units: { updated: 1 } });
    const after = await product();
    expect(after.version).toBe(before.version);
    expect(after.tree).not.toBe(before.tree);
  });
});

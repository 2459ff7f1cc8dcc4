import type { RunWarnings } from '@octo-sync/db';
import { cloneCatalog, generateCatalog, type GeneratedProduct } from '@octo-sync/testkit';
import { startHarness, storedCatalog, type Harness } from './harness';

/**
 * The drift watch through the worker and the test supplier: the first sync records the baseline
 * shape, a later one that adds, removes or retypes a path (or drops a capability) is reported in
 * the audit trail, the change feed and a partner alert, and the integration's `drift_policy`
 * decides what happens to the catalog.
 */
describe('catalog.sync: supplier drift', () => {
  let h: Harness;
  const catalog = generateCatalog({ products: 6, options: 2, units: 2, seed: 23 });

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => h.supplier.setCapabilities('octo/content, octo/pricing'));

  async function integration(driftPolicy: 'accept' | 'quarantine' | 'block'): Promise<string> {
    const id = await h.createIntegration();
    await h.db.prisma.integration.update({ where: { id }, data: { driftPolicy, alertsUrl: `${h.supplier.url}/alerts` } });
    return id;
  }

  const driftEvents = (integrationId: string) => h.db.prisma.integrationEvent.findMany({ where: { integrationId, type: 'supplier_drift' }, orderBy: { id: 'asc' } });
  const feedEvents = (integrationId: string) => h.db.prisma.changeEvent.findMany({ where: { integrationId, type: 'supplier.drift' } });
  const alerts = (integrationId: string) => h.db.prisma.alertDelivery.findMany({ where: { integrationId, kind: 'supplier.drift' } });

  /** Every product with `change` applied (a copy). */
  const everyProduct = (change: (p: GeneratedProduct) => void) => cloneCatalog(catalog).map((p) => (change(p), p));

  it('records the first shape as the baseline without a drift event', async () => {
    const id = await integration('accept');
    h.supplier.setCatalog(catalog);
    expect(await h.sync(id)).toMatchObject({ status: 'succeeded' });
    const shape = await h.db.prisma.catalogShape.findUnique({ where: { integrationId: id } });
    expect(shape?.shape).toMatchObject({ capabilities: ['octo/content', 'octo/pricing'], paths: { 'product.title': ['string'], 'unit.id': ['string'] } });
    expect(shape?.pendingHash).toBeNull();
    expect(await driftEvents(id)).toEqual([]);
    expect(await feedEvents(id)).toEqual([]);
  });

  it('accept: stores the new shape and reports the added, removed and retyped paths and the dropped capability once', async () => {
    const id = await integration('accept');
    h.supplier.setCatalog(catalog);
    await h.sync(id);

    h.supplier.setCatalog(
      everyProduct((p) => {
        p.meetingPoint = { lat: 1.5, lng: 2.5 };
        delete p['x-supplier-rating'];
        p.instantConfirmation = 'yes';
      }),
    );
    h.supplier.setCapabilities('octo/content');
    const run = await h.sync(id);

    expect(run).toMatchObject({ status: 'succeeded', counts: { products: { updated: catalog.length, quarantined: 0 } } });
    const [event, ...more] = await driftEvents(id);
    expect(more).toEqual([]);
    expect(event?.details).toMatchObject({
      run_id: run.id,
      held: false,
      added: [
        { path: 'product.meetingPoint', types: ['object'] },
        { path: 'product.meetingPoint.lat', types: ['number'] },
        { path: 'product.meetingPoint.lng', types: ['number'] },
      ],
      removed: [{ path: 'product.x-supplier-rating', types: ['number'] }],
      retyped: [{ path: 'product.instantConfirmation', from: ['boolean'], to: ['string'] }],
      capabilities: { added: [], removed: ['octo/pricing'] },
    });
    const shape = await h.db.prisma.catalogShape.findUniqueOrThrow({ where: { integrationId: id } });
    expect(await feedEvents(id)).toEqual([expect.objectContaining({ productOctoId: '', contentHash: shape.hash })]);
    expect((await alerts(id)).map((a) => a.data)).toEqual([
      expect.objectContaining({ run_id: run.id, drift_policy: 'accept', added: 'product.meetingPoint, product.meetingPoint.lat, product.meetingPoint.lng', removed: 'product.x-supplier-rating', capabilities_removed: 'octo/pricing' }),
    ]);

    // New values in the same shape: no drift.
    h.supplier.setCatalog(everyProduct((p) => ((p.meetingPoint = { lat: 9, lng: 9 }), delete p['x-supplier-rating'], (p.instantConfirmation = 'no'))));
    expect(await h.sync(id)).toMatchObject({ status: 'succeeded' });
    expect(await driftEvents(id)).toHaveLength(1);
  });

  it('quarantine: holds the products of the new shape as stored until an admin accepts it', async () => {
    const id = await integration('quarantine');
    h.supplier.setCatalog(catalog);
    await h.sync(id);
    const before = await storedCatalog(h.db, id);

    const drifted = cloneCatalog(catalog);
    drifted[0]!.accessibility = ['wheelchair'];
    drifted[1]!.internalName = 'Renamed in the same shape';
    h.supplier.setCatalog(drifted);
    const run = await h.sync(id);

    expect(run).toMatchObject({ status: 'succeeded', counts: { products: { quarantined: 1, updated: 1 } } });
    expect((run.warnings as unknown as RunWarnings).items).toEqual([
      { product_id: catalog[0]!.id, path: '[0]', reason: 'held by drift_policy quarantine: product.accessibility is new in the catalog\'s shape (an admin accepts it)' },
    ]);
    const after = await storedCatalog(h.db, id);
    expect(after[0]).toEqual(before[0]);
    expect(after[1]!.internalName).toBe('Renamed in the same shape');
    expect(await h.db.shapes.pending(id)).toMatchObject({ drift: { added: [{ path: 'product.accessibility', types: ['array'] }, { path: 'product.accessibility[]', types: ['string'] }] } });
    expect(await driftEvents(id)).toHaveLength(1);
    expect(await feedEvents(id)).toHaveLength(1);
    expect(await alerts(id)).toHaveLength(1);

    // Held again by the next run (same content otherwise: skipped, the held product in its warnings), reported once.
    const again = await h.sync(id);
    expect(again.status).toBe('skipped');
    expect((again.warnings as unknown as RunWarnings).items).toHaveLength(1);
    expect(await driftEvents(id)).toHaveLength(1);

    expect(await h.db.shapes.accept(id, 'admin-1')).toBe(true);
    const taken = await h.sync(id);
    expect(taken).toMatchObject({ status: 'succeeded', warnings: null, counts: { products: { quarantined: 0, updated: 1 } } });
    expect((await storedCatalog(h.db, id))[0]!.raw).toMatchObject({ accessibility: ['wheelchair'] });
    expect(await h.db.shapes.pending(id)).toBeNull();
    expect(await h.db.prisma.integrationEvent.count({ where: { integrationId: id, type: 'supplier_drift_accepted', actor: 'admin-1' } })).toBe(1);
  });

  it('block: fails the run once with SUPPLIER_DRIFT naming the paths, the catalog intact, until an admin accepts', async () => {
    const id = await integration('block');
    h.supplier.setCatalog(catalog);
    await h.sync(id);
    const before = await storedCatalog(h.db, id);

    h.supplier.setCatalog(everyProduct((p) => ((p.defaultCurrency = 840), (p.internalName = `${p.internalName}!`))));
    const run = await h.sync(id);

    expect(run).toMatchObject({ status: 'failed', attempts: 1, errorCode: 'SUPPLIER_DRIFT' });
    expect(run.errorMessage).toContain('retyped product.defaultCurrency (string → number)');
    expect(await storedCatalog(h.db, id)).toEqual(before);
    expect((await driftEvents(id))[0]?.details).toMatchObject({ held: true, retyped: [{ path: 'product.defaultCurrency', from: ['string'], to: ['number'] }] });
    expect(await feedEvents(id)).toHaveLength(1);
    expect(await alerts(id)).toEqual([expect.objectContaining({ data: expect.objectContaining({ error_code: 'SUPPLIER_DRIFT' }) })]);

    expect(await h.sync(id)).toMatchObject({ status: 'failed', errorCode: 'SUPPLIER_DRIFT' });
    expect(await driftEvents(id)).toHaveLength(1);

    await h.db.shapes.accept(id, 'admin-1');
    expect(await h.sync(id)).toMatchObject({ status: 'succeeded', counts: { products: { updated: catalog.length } } });
  });
});

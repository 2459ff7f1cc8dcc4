import type { SyncRun } from '@octo-sync/db';
import { catalogSyncJob } from '@octo-sync/jobs';
import { generateCatalog, withoutProducts, withProductRenamed } from '@octo-sync/testkit';
import { startHarness, storedCatalog, type Harness } from './harness';

describe('catalog.sync: a targeted refresh of named products', () => {
  let h: Harness;
  let integrationId: string;
  const catalog = generateCatalog({ products: 12, options: 2, units: 2, seed: 12 });
  const [a, b, c] = [catalog[0]!.id, catalog[1]!.id, catalog[2]!.id];

  beforeAll(async () => {
    h = await startHarness();
    integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
  });
  afterAll(() => h.close());

  async function refresh(productIds: string[]): Promise<SyncRun> {
    const { runId } = await h.db.runs.requestRun(integrationId, 'webhook', { productIds });
    const outcome = await h.producer.waitFor(await h.producer.enqueue(catalogSyncJob, { integrationId, runId }), 30_000);
    if (outcome.state === 'pending') throw new Error(`run ${runId} did not finish in time`);
    return (await h.db.runs.findRun(runId))!;
  }
  const names = async () => new Map((await storedCatalog(h.db, integrationId)).map((p) => [p.octoId, { name: p.internalName, active: p.active }]));

  it('fetches and writes exactly the named products; the others and the catalog hash stay', async () => {
    const before = await h.db.integrations.findById(integrationId);
    let changed = withProductRenamed(catalog, a, 'renamed a');
    changed = withProductRenamed(changed, b, 'renamed b');
    changed = withProductRenamed(changed, c, 'renamed c');
    h.supplier.setCatalog(changed);
    const seen = h.supplier.requests.length;

    const run = await refresh([a, b]);
    expect(run).toMatchObject({ status: 'succeeded', synced: 2, productIds: [a, b] });
    expect(run.counts).toMatchObject({ products: { updated: 2, unchanged: 0, removed: 0 } });
    const paths = h.supplier.requests.slice(seen).map((r) => `${r.method} ${r.path}`).sort();
    expect(paths).toEqual([`GET /products/${a}`, `GET /products/${b}`].sort());
    const stored = await names();
    expect(stored.get(a)?.name).toBe('renamed a');
    expect(stored.get(b)?.name).toBe('renamed b');
    expect(stored.get(c)?.name).not.toBe('renamed c');
    const after = await h.db.integrations.findById(integrationId);
    expect(after).toMatchObject({ lastSyncHash: before!.lastSyncHash, lastPayloadDigest: before!.lastPayloadDigest, lastSyncAt: before!.lastSyncAt });
  });

  it('a plain 404 for every named product fails the run and deactivates nothing (the supplier may not serve single products)', async () => {
    h.supplier.behave({ kind: 'status', status: 404 });
    const run = await refresh([a, b]);
    h.supplier.behave(null);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'SUPPLIER_HTTP_ERROR' });
    expect(run.errorMessage).toContain('may not serve single products');
    expect([...(await names()).values()].every((p) => p.active)).toBe(true);
  });

  it('a product the supplier no longer has is deactivated, within the mass-removal guard', async () => {
    h.supplier.setCatalog(withoutProducts(catalog, [c]));
    const run = await refresh([c]);
    expect(run).toMatchObject({ status: 'succeeded' });
    expect(run.counts).toMatchObject({ products: { removed: 1 } });
    expect((await names()).get(c)?.active).toBe(false);

    // Seven of the eleven active products gone: more than half, more than five.
    const gone = catalog.slice(3, 10).map((p) => p.id);
    h.supplier.setCatalog(withoutProducts(catalog, gone));
    const blocked = await refresh(gone);
    expect(blocked).toMatchObject({ status: 'failed', errorCode: 'MASS_REMOVAL_BLOCKED' });
    expect([...(await names()).entries()].filter(([, p]) => !p.active).map(([id]) => id)).toEqual([c]);
  });
});

describe('run requests: targeted and full runs coalesce', () => {
  let h: Harness;
  let integrationId: string;

  beforeAll(async () => {
    h = await startHarness();
    await h.stopWorker(h.worker);
    integrationId = await h.createIntegration();
  });
  afterAll(() => h.close());

  const scopeOf = async (runId: string) => (await h.db.runs.findRun(runId))!.productIds;

  it('a targeted request joins a queued full run; targeted ones merge; a full one widens a queued targeted run', async () => {
    const full = await h.db.runs.requestRun(integrationId, 'webhook');
    expect((await h.db.runs.requestRun(integrationId, 'webhook', { productIds: ['p1'] })).runId).toBe(full.runId);
    expect(await scopeOf(full.runId)).toEqual([]);
    await h.db.prisma.syncRun.update({ where: { id: full.runId }, data: { status: 'succeeded' } });

    const first = await h.db.runs.requestRun(integrationId, 'webhook', { productIds: ['p1', 'p2'] });
    const second = await h.db.runs.requestRun(integrationId, 'webhook', { productIds: ['p2', 'p3'] });
    expect(second).toMatchObject({ runId: first.runId, created: false });
    expect(await scopeOf(first.runId)).toEqual(['p1', 'p2', 'p3']);
    expect((await h.db.runs.requestRun(integrationId, 'webhook')).runId).toBe(first.runId);
    expect(await scopeOf(first.runId)).toEqual([]);
  });
});

describe('catalog.sync: what a targeted refresh reports', () => {
  let h: Harness;
  let integrationId: string;
  const catalog = generateCatalog({ products: 6, options: 1, units: 1, seed: 24 });
  const [a, b, c] = [catalog[0]!.id, catalog[1]!.id, catalog[2]!.id];

  beforeAll(async () => {
    // One product fetched at a time: the supplier's answers come in the order the ids are named.
    h = await startHarness({ SYNC_TARGETED_CONCURRENCY: '1' });
    integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
  });
  afterAll(() => h.close());

  async function refresh(productIds: string[]): Promise<{ run: SyncRun; skipped: boolean }> {
    const { runId } = await h.db.runs.requestRun(integrationId, 'webhook', { productIds });
    const outcome = await h.producer.waitFor<{ skipped: boolean }>(await h.producer.enqueue(catalogSyncJob, { integrationId, runId }), 30_000);
    if (outcome.state !== 'completed') throw new Error(`run ${runId} ended ${outcome.state}`);
    return { run: (await h.db.runs.findRun(runId))!, skipped: outcome.value.skipped };
  }
  const warnings = (run: SyncRun) => (run.warnings as { items: Array<{ product_id: string; reason: string }> } | null)?.items ?? [];

  it('names each id the supplier does not know in a warning; having changed nothing, it is skipped', async () => {
    const before = await storedCatalog(h.db, integrationId);
    const { run, skipped } = await refresh(['unknown-1', 'unknown-2']);
    expect(skipped).toBe(true);
    expect(run).toMatchObject({ status: 'skipped', synced: 0, errorCode: null });
    expect(warnings(run)).toEqual([
      { product_id: 'unknown-1', path: 'productIds', reason: expect.stringMatching(/does not know this product.*nothing is stored under this id/) },
      { product_id: 'unknown-2', path: 'productIds', reason: expect.stringMatching(/does not know this product.*nothing is stored under this id/) },
    ]);
    expect(await storedCatalog(h.db, integrationId)).toEqual(before);
  });

  it('an unchanged targeted refresh is skipped like an unchanged full sync, its counts kept and nothing written', async () => {
    const before = await storedCatalog(h.db, integrationId);
    const { run, skipped } = await refresh([a, b]);
    expect(skipped).toBe(true);
    expect(run).toMatchObject({ status: 'skipped', synced: 0, warnings: null });
    expect(run.counts).toMatchObject({ products: { created: 0, updated: 0, unchanged: 2, removed: 0 } });
    expect(await storedCatalog(h.db, integrationId)).toEqual(before);
    // A full sync of the same catalog says the same.
    expect(await h.sync(integrationId)).toMatchObject({ status: 'skipped' });
  });

  it('a plain 404 beside a product found counts as unknown and is named; a known product gone is deactivated and named', async () => {
    h.supplier.behave({ kind: 'status', status: 404, times: 1 });
    const plain = await refresh(['gone-plain', a]);
    expect(plain.run).toMatchObject({ status: 'skipped' });
    expect(warnings(plain.run)).toEqual([{ product_id: 'gone-plain', path: 'productIds', reason: expect.stringMatching(/answered a plain 404/) }]);

    h.supplier.setCatalog(withoutProducts(catalog, [c]));
    const { run, skipped } = await refresh([c, 'unknown-3']);
    expect(skipped).toBe(false);
    expect(run).toMatchObject({ status: 'succeeded', counts: { products: { removed: 1 } } });
    expect(warnings(run)).toEqual([
      { product_id: c, path: 'productIds', reason: expect.stringMatching(/does not know this product.*deactivated/) },
      { product_id: 'unknown-3', path: 'productIds', reason: expect.stringMatching(/nothing is stored under this id/) },
    ]);
  });
});

import type { SyncRun } from '@octo-sync/db';
import { catalogSyncJob } from '@octo-sync/jobs';
import { cloneCatalog, generateCatalog } from '@octo-sync/testkit';
import { catalogRowVersions, rowsWrittenSince, startHarness, type Harness } from './harness';

/** The stored localisations of an integration: `<locale> <product>/<option>/<unit>` → content. */
async function localised(h: Harness, integrationId: string): Promise<Map<string, { content: Record<string, unknown>; updatedAt: Date }>> {
  const { rows } = await h.db.pool.query<{ k: string; content: Record<string, unknown>; updated_at: Date }>(
    `SELECT locale || ' ' || product_octo_id || '/' || option_octo_id || '/' || unit_octo_id AS k, content, updated_at FROM catalog_localizations WHERE integration_id = $1`,
    [integrationId],
  );
  return new Map(rows.map((r) => [r.k, { content: r.content, updatedAt: r.updated_at }]));
}

async function localeEvents(h: Harness, integrationId: string): Promise<string[]> {
  const { rows } = await h.db.pool.query<{ e: string }>(
    `SELECT type || ' ' || locale || ' ' || product_octo_id || coalesce('/' || option_octo_id, '') || coalesce('/' || unit_octo_id, '') AS e
     FROM change_events WHERE integration_id = $1 AND locale IS NOT NULL ORDER BY txn_id, idx`,
    [integrationId],
  );
  return rows.map((r) => r.e);
}

type Entity = Record<string, unknown>;
const titled = (e: Entity, language: string): Entity => ({ ...e, title: `${typeof e.title === 'string' ? e.title : String(e.id)} [${language}]` });

/** The test supplier's own localisation (titles suffixed down to units), with `extra` fields on the product. */
function localisedAs(product: Entity, language: string, extra: Entity = {}): Entity {
  const options = (product.options as Entity[]).map((o) => titled({ ...o, units: (o.units as Entity[]).map((u) => titled(u, language)) }, language));
  return { ...titled({ ...product, options }, language), ...extra };
}

describe('catalog.sync in several languages', () => {
  let h: Harness;
  const catalog = generateCatalog({ products: 4, options: 2, units: 2, seed: 23 });
  const first = catalog[0]!;
  // Per product: its own row, 2 options, 4 units.
  const entitiesPerLocale = 4 * (1 + 2 + 4);

  beforeAll(async () => {
    h = await startHarness();
    h.supplier.setCatalog(catalog);
  });
  afterEach(() => {
    h.supplier.setCatalog(catalog);
    h.supplier.setLanguages(null);
    h.supplier.behave(null);
  });
  afterAll(() => h.close());

  async function integrationIn(locales: string[]): Promise<string> {
    const id = await h.createIntegration();
    await h.db.integrations.update(id, { locales });
    return id;
  }

  /** A targeted run: a refresh of the named products. */
  async function refresh(integrationId: string, productIds: string[]): Promise<SyncRun> {
    const { runId } = await h.db.runs.requestRun(integrationId, 'webhook', { productIds });
    const outcome = await h.producer.waitFor(await h.producer.enqueue(catalogSyncJob, { integrationId, runId }), 30_000);
    if (outcome.state === 'pending') throw new Error(`run ${runId} did not finish in time`);
    return (await h.db.runs.findRun(runId))!;
  }

  it('fetches every locale with Accept-Language and octo/content, and stores the other locales\' localised fields per entity', async () => {
    h.supplier.setLanguages({ available: ['en', 'de', 'fr'] });
    const id = await integrationIn(['en', 'de', 'fr']);
    const asked = h.supplier.requests.length;
    const run = await h.sync(id);
    expect(run).toMatchObject({ status: 'succeeded', synced: 4, warnings: null });

    const requests = h.supplier.requests.slice(asked).filter((r) => r.path === '/products');
    expect(requests.map((r) => r.headers['accept-language']).sort()).toEqual(['de', 'en', 'fr']);
    for (const r of requests) expect(r.headers['octo-capabilities']).toContain('octo/content');

    const rows = await localised(h, id);
    expect(rows.size).toBe(2 * entitiesPerLocale);
    const option = first.options[1]!;
    const unit = option.units[0]!;
    expect(rows.get(`de ${first.id}//`)!.content).toMatchObject({ title: `${first.title as string} [de]` });
    expect(rows.get(`fr ${first.id}/${option.id}/`)!.content).toMatchObject({ title: `${option.id} [fr]` });
    expect(rows.get(`de ${first.id}/${option.id}/${unit.id}`)!.content).toMatchObject({ title: `${unit.id} [de]` });
    // Only localised fields: no ids, prices or restrictions.
    expect(Object.keys(rows.get(`de ${first.id}/${option.id}/${unit.id}`)!.content)).not.toContain('pricingFrom');
    expect(rows.has(`en ${first.id}//`)).toBe(false);

    const integration = await h.db.integrations.findById(id);
    expect(integration).toMatchObject({ locales: ['en', 'de', 'fr'], catalogLocale: 'en' });
    const events = await localeEvents(h, id);
    expect(events).toHaveLength(2 * entitiesPerLocale);
    expect(events).toContain(`product.updated de ${first.id}`);
    expect(events).toContain(`unit.updated fr ${first.id}/${option.id}/${unit.id}`);
  });

  it('an unchanged catalog in every locale is skipped: nothing written, no event', async () => {
    h.supplier.setLanguages({ available: ['en', 'de', 'fr'] });
    const id = await integrationIn(['en', 'de', 'fr']);
    await h.sync(id);
    const versions = await catalogRowVersions(h.db, id);
    const before = await localised(h, id);
    const events = await localeEvents(h, id);
    const run = await h.sync(id);
    expect(run).toMatchObject({ status: 'skipped', synced: 0 });
    expect(await rowsWrittenSince(h.db, id, versions)).toBe(0);
    expect(await localised(h, id)).toEqual(before);
    expect(await localeEvents(h, id)).toEqual(events);
  });

  it('a change in one language writes only that language\'s changed entity, and the feed names the language', async () => {
    h.supplier.setLanguages({ available: ['en', 'de', 'fr'] });
    const id = await integrationIn(['en', 'de', 'fr']);
    await h.sync(id);
    const versions = await catalogRowVersions(h.db, id);
    const before = await localised(h, id);
    const eventsBefore = (await localeEvents(h, id)).length;
    h.supplier.setLanguages({
      available: ['en', 'de', 'fr'],
      localise: (p, language) => localisedAs(p, language, language === 'de' && p.id === first.id ? { description: 'Neu beschrieben' } : {}),
    });
    const run = await h.sync(id);
    expect(run.status).toBe('succeeded');
    expect(await rowsWrittenSince(h.db, id, versions)).toBe(0);
    const after = await localised(h, id);
    const changed = [...after].filter(([k, v]) => v.updatedAt.getTime() !== before.get(k)!.updatedAt.getTime()).map(([k]) => k);
    expect(changed).toEqual([`de ${first.id}//`]);
    expect(after.get(`de ${first.id}//`)!.content).toMatchObject({ description: 'Neu beschrieben' });
    expect((await localeEvents(h, id)).slice(eventsBefore)).toEqual([`product.updated de ${first.id}`]);
  });

  it('an answer in another language than asked is not stored under the asked one (a warning)', async () => {
    h.supplier.setLanguages({ available: ['en', 'de'] });
    const id = await integrationIn(['en', 'de', 'fr']);
    const run = await h.sync(id);
    expect(run.status).toBe('succeeded');
    expect((run.warnings as { items?: unknown } | null)?.items).toEqual([expect.objectContaining({ path: '(locale fr)', reason: expect.stringContaining('answered in en') })]);
    const rows = await localised(h, id);
    expect([...rows.keys()].filter((k) => k.startsWith('fr '))).toEqual([]);
    expect([...rows.keys()].filter((k) => k.startsWith('de '))).toHaveLength(entitiesPerLocale);
  });

  it('a failed secondary locale is a warning and keeps its previous content', async () => {
    h.supplier.setLanguages({ available: ['en', 'de'] });
    const id = await integrationIn(['en', 'de']);
    await h.sync(id);
    const before = await localised(h, id);
    h.supplier.setLanguages({ available: ['en', 'de'], localise: (p, language) => ({ ...p, title: `changed [${language}]` }) });
    // The other locales are asked first: the next request is de's.
    h.supplier.behave({ kind: 'status', status: 500, times: 1 });
    const run = await h.sync(id);
    expect(run.status).toBe('skipped');
    expect((run.warnings as { items?: unknown } | null)?.items).toEqual([expect.objectContaining({ path: '(locale de)', reason: expect.stringContaining('previous content is kept') })]);
    expect(await localised(h, id)).toEqual(before);
    // The next run reads de again and stores its new content.
    const next = await h.sync(id);
    expect(next).toMatchObject({ status: 'succeeded', warnings: null });
    expect((await localised(h, id)).get(`de ${first.id}//`)!.content).toMatchObject({ title: 'changed [de]' });
  });

  it('a targeted run refreshes its products in every locale, through GET /products/{id} with Accept-Language', async () => {
    h.supplier.setLanguages({ available: ['en', 'de', 'fr'] });
    const id = await integrationIn(['en', 'de', 'fr']);
    await h.sync(id);
    const before = await localised(h, id);
    const eventsBefore = (await localeEvents(h, id)).length;
    h.supplier.setLanguages({
      available: ['en', 'de', 'fr'],
      localise: (p, language) => localisedAs(p, language, language === 'de' ? { description: `Neu ${String(p.id)}` } : {}),
    });
    const asked = h.supplier.requests.length;
    const run = await refresh(id, [first.id]);
    expect(run).toMatchObject({ status: 'succeeded', warnings: null });
    const requests = h.supplier.requests.slice(asked).map((r) => `${r.path} ${String(r.headers['accept-language'])}`);
    expect(requests.sort()).toEqual([`/products/${first.id} de`, `/products/${first.id} en`, `/products/${first.id} fr`]);
    const after = await localised(h, id);
    const changed = [...after].filter(([k, v]) => v.updatedAt.getTime() !== before.get(k)!.updatedAt.getTime()).map(([k]) => k);
    expect(changed).toEqual([`de ${first.id}//`]);
    expect(after.get(`de ${first.id}//`)!.content).toMatchObject({ description: `Neu ${first.id}` });
    expect((await localeEvents(h, id)).slice(eventsBefore)).toEqual([`product.updated de ${first.id}`]);
    // The locale's last full answer is not the refresh's: the next full run still reads it and writes the other products.
    const full = await h.sync(id);
    expect(full.status).toBe('succeeded');
    expect((await localised(h, id)).get(`de ${catalog[1]!.id}//`)!.content).toMatchObject({ description: `Neu ${catalog[1]!.id}` });
  });

  it('a targeted run\'s locale answered in another language is a warning, nothing stored under it', async () => {
    h.supplier.setLanguages({ available: ['en', 'de'] });
    const id = await integrationIn(['en', 'de', 'fr']);
    await h.sync(id);
    const run = await refresh(id, [first.id]);
    expect(run.status).toBe('skipped');
    expect((run.warnings as { items?: unknown } | null)?.items).toEqual([expect.objectContaining({ path: '(locale fr)', reason: expect.stringContaining('answered in en') })]);
    expect([...(await localised(h, id)).keys()].filter((k) => k.startsWith('fr '))).toEqual([]);
  });

  it('a removed product, option or unit loses its localisations in the run that removes it, in every locale', async () => {
    h.supplier.setLanguages({ available: ['en', 'de', 'fr'] });
    const id = await integrationIn(['en', 'de', 'fr']);
    await h.sync(id);
    const [, second, third] = catalog;
    const [option, kept] = second!.options;
    const unit = third!.options[0]!.units[1]!;
    const changed = cloneCatalog(catalog).filter((p) => p.id !== first.id);
    changed[0]!.options = changed[0]!.options.filter((o) => o.id !== option!.id);
    changed[1]!.options[0]!.units = changed[1]!.options[0]!.units.filter((u) => u.id !== unit.id);
    h.supplier.setCatalog(changed);
    const run = await h.sync(id, { force: true });
    expect(run.counts).toMatchObject({ products: { removed: 1 }, options: { removed: 1 }, units: { removed: 1 } });
    const left = [...(await localised(h, id)).keys()];
    for (const locale of ['de', 'fr']) {
      expect(left.filter((k) => k.startsWith(`${locale} ${first.id}/`))).toEqual([]);
      expect(left.filter((k) => k.startsWith(`${locale} ${second!.id}/${option!.id}/`))).toEqual([]);
      expect(left).not.toContain(`${locale} ${third!.id}/${third!.options[0]!.id}/${unit.id}`);
      expect(left).toContain(`${locale} ${second!.id}/${kept!.id}/`);
    }
    expect(left).toHaveLength(2 * (entitiesPerLocale - 7 - 3 - 1));
  });

  // The other locales are asked first: a changing catalog's first answer is de's, its second en's.
  it.each([
    ['answers the same bytes', (full: Entity[]) => full],
    ['answers new bytes that still list it', (full: Entity[]) => full.map((p, i) => (i === 1 ? { ...p, title: 'Retitled' } : p))],
  ])('a product removed while a locale still %s gets its content in that locale back when it returns', async (_case, deAnswer) => {
    h.supplier.setLanguages({ available: ['en', 'de'] });
    const id = await integrationIn(['en', 'de']);
    await h.sync(id);
    const de = deAnswer(cloneCatalog(catalog));
    h.supplier.setChangingCatalog((n) => (n === 1 ? de : catalog.filter((p) => p.id !== first.id)));
    expect((await h.sync(id)).counts).toMatchObject({ products: { removed: 1 } });
    expect([...(await localised(h, id)).keys()].filter((k) => k.startsWith(`de ${first.id}/`))).toEqual([]);
    // Back in en, while de answers the bytes it answered when the product was removed.
    h.supplier.setChangingCatalog((n) => (n === 1 ? de : catalog));
    expect(await h.sync(id)).toMatchObject({ status: 'succeeded', warnings: null });
    const rows = await localised(h, id);
    expect([...rows.keys()].filter((k) => k.startsWith(`de ${first.id}/`))).toHaveLength(1 + 2 + 4);
    expect(rows.get(`de ${first.id}//`)!.content).toMatchObject({ title: `${first.title as string} [de]` });
  });

  it('a locale dropped from the list is not read, and loses its rows and its last answer at the next run', async () => {
    h.supplier.setLanguages({ available: ['en', 'de', 'fr'] });
    const id = await integrationIn(['en', 'de', 'fr']);
    await h.sync(id);
    await h.db.integrations.update(id, { locales: ['en', 'fr'] });
    const served = await h.db.locales.ofProducts(id, ['en', 'fr'], [first.id]);
    expect(new Set(served.map((r) => r.locale))).toEqual(new Set(['fr']));
    await h.sync(id);
    const left = [...(await localised(h, id)).keys()];
    expect(left.filter((k) => k.startsWith('de '))).toEqual([]);
    expect(left.filter((k) => k.startsWith('fr '))).toHaveLength(entitiesPerLocale);
    // Listed again, the locale is read whole: its answer's bytes are those of its last one, but its rows are gone.
    await h.db.integrations.update(id, { locales: ['en', 'fr', 'de'] });
    await h.sync(id);
    expect([...(await localised(h, id)).keys()].filter((k) => k.startsWith('de '))).toHaveLength(entitiesPerLocale);
  });
});

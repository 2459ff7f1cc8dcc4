import { cloneCatalog, generateCatalog, startTestSupplier, type TestSupplier } from '@octo-sync/testkit';

describe('test supplier in language mode', () => {
  let supplier: TestSupplier;
  const catalog = generateCatalog({ products: 3, options: 1, units: 1, seed: 7 });
  const first = catalog[0]!;

  beforeEach(async () => {
    supplier = await startTestSupplier({ catalog, languages: { available: ['en', 'de'] } });
  });
  afterEach(() => supplier.close());

  async function get(path: string, language: string): Promise<unknown> {
    const res = await fetch(`${supplier.url}${path}`, { headers: { 'accept-language': language } });
    expect(res.headers.get('content-language')).toBe(language);
    return res.json();
  }
  const titles = (body: unknown) => (body as Array<{ title: string }>).map((p) => p.title);
  const inGerman = catalog.map((p) => `${p.title as string} [de]`);

  it('serves the catalog, not a product asked before, after the same catalog is set again', async () => {
    expect(await get(`/products/${first.id}`, 'de')).toMatchObject({ id: first.id, title: `${first.title as string} [de]` });
    supplier.setCatalog(cloneCatalog(catalog));
    expect(titles(await get('/products', 'de'))).toEqual(inGerman);
    expect(await get(`/products/${first.id}`, 'de')).toMatchObject({ id: first.id });
  });

  it('localises a catalog set with the bytes of a raw body served before', async () => {
    supplier.setRawBody(JSON.stringify(catalog));
    expect(titles(await get('/products', 'de'))).toEqual(catalog.map((p) => p.title));
    supplier.setCatalog(catalog);
    expect(titles(await get('/products', 'de'))).toEqual(inGerman);
  });

  it('answers a changed catalog in every language, and the same one again from the bodies it built', async () => {
    expect(titles(await get('/products', 'de'))).toEqual(inGerman);
    const renamed = catalog.map((p) => ({ ...p, title: `new ${p.title as string}` }));
    supplier.setCatalog(renamed);
    expect(titles(await get('/products', 'de'))).toEqual(renamed.map((p) => `${p.title} [de]`));
    expect(titles(await get('/products', 'en'))).toEqual(renamed.map((p) => p.title));
    supplier.setCatalog(cloneCatalog(renamed));
    expect(titles(await get('/products', 'de'))).toEqual(renamed.map((p) => `${p.title} [de]`));
  });
});

import type { Db } from '@octo-sync/db';
import type { GeneratedProduct, TestSupplier } from '@octo-sync/testkit';

/*
 * bench:sync's three-language mode: one integration in ["en", "de", "fr"] synced fresh, unchanged,
 * and with one language's content changed (a new `description` on 1% of the products, in German
 * only), and one single-language integration given the same change, for the comparison:
 * the one-language change in three languages ≤ 1.2 × (the same change in one language + the
 * unchanged-skip cost of the other two).
 */

const LANGUAGES = ['en', 'de', 'fr'];

/** What a scenario of the bench measures: its wall time in seconds (the run status is checked by the caller). */
export type TimeScenario = (integrationId: string, name: string, products: GeneratedProduct[]) => Promise<{ wallSeconds: number; rowsWritten: number; status: string }>;

export interface LanguageFigures {
  fresh: number;
  unchanged: number;
  changedOneLanguage: number;
  singleChanged: number;
  localisedRowsChanged: number;
}

type Entity = Record<string, unknown>;
const titled = (e: Entity, language: string): Entity => ({ ...e, title: `${typeof e.title === 'string' ? e.title : String(e.id)} [${language}]` });

/** The test supplier's default localisation (titles down to units), plus `description` on changed products in `changedIn`. */
function localiser(changedIn: string | null, changed: ReadonlySet<string>) {
  return (product: Entity, language: string): unknown => {
    const options = (product.options as Entity[]).map((o) => titled({ ...o, units: ((o.units as Entity[] | undefined) ?? []).map((u) => titled(u, language)) }, language));
    const localised = titled({ ...product, options }, language);
    return language === changedIn && changed.has(String(product.id)) ? { ...localised, description: `${typeof product.description === 'string' ? product.description : ''} (neu)` } : localised;
  };
}

/** Asks the supplier for each language once, so that its answers are built before a scenario is timed (a supplier serves a cached answer). */
async function warm(supplier: TestSupplier): Promise<void> {
  for (const language of LANGUAGES) {
    const res = await fetch(`${supplier.url}/products`, { headers: { 'accept-language': language } });
    await res.arrayBuffer();
  }
}

/** Every 100th product: the 1% whose content changes. */
const onePercent = (catalog: readonly GeneratedProduct[]) => new Set(catalog.filter((_p, i) => i % 100 === 0).map((p) => p.id));

/** Runs the three-language scenarios and the single-language reference on `catalog` (left as it was). */
export async function languageScenarios(db: Db, supplier: TestSupplier, newIntegration: (name: string) => Promise<string>, time: TimeScenario, catalog: GeneratedProduct[]): Promise<LanguageFigures> {
  const changed = onePercent(catalog);
  const threeId = await newIntegration('bench-languages');
  await db.integrations.update(threeId, { locales: LANGUAGES });
  try {
    supplier.setCatalog(catalog);
    supplier.setLanguages({ available: LANGUAGES, localise: localiser(null, changed) });
    await warm(supplier);
    const fresh = await time(threeId, 'languagesFresh', catalog);
    const unchanged = await time(threeId, 'languagesUnchanged', catalog);
    supplier.setLanguages({ available: LANGUAGES, localise: localiser('de', changed) });
    await warm(supplier);
    const changedOne = await time(threeId, 'languagesChanged1pctOneLanguage', catalog);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM catalog_localizations WHERE integration_id = $1::uuid AND content->>'description' LIKE '%(neu)'`, [threeId]);
    supplier.setLanguages(null);
    const singleId = await newIntegration('bench-languages-single');
    await time(singleId, 'singleFresh', catalog);
    const single = await time(
      singleId,
      'singleChanged1pctContent',
      catalog.map((p) => (changed.has(p.id) ? { ...p, description: `${typeof (p as Entity).description === 'string' ? String((p as Entity).description) : ''} (neu)` } : p)),
    );
    return { fresh: fresh.wallSeconds, unchanged: unchanged.wallSeconds, changedOneLanguage: changedOne.wallSeconds, singleChanged: single.wallSeconds, localisedRowsChanged: rows[0]?.n ?? 0 };
  } finally {
    supplier.setLanguages(null);
  }
}

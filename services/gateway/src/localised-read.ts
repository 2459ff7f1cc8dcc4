import { PRODUCT_LOCALISED_FIELDS, type Integration, type StoredLocalisation, type StoredOptionSummary, type StoredProductSummary } from '@octo-sync/db';

/*
 * The read API in a language: each product is served in one locale, chosen per product by the
 * fallback chain asked → the integration's first locale → any it has (the catalog rows' own
 * language, which every product has), and says which one it served.
 */

/** A product's content in the locale it is served in. */
export interface Served {
  locale: string;
  title: string | null;
  options: StoredOptionSummary[];
  /** The product's localised fields in that locale (OCTO content: title, descriptions…). */
  content: Record<string, unknown>;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The language the catalog rows are in: the first locale's answer's, or the first locale before any sync says. */
function baseLocale(integration: Pick<Integration, 'catalogLocale' | 'locales'>): string {
  return integration.catalogLocale ?? integration.locales[0] ?? 'en';
}

/**
 * `product` in the locale the chain picks among those stored for it (`rows`: its localisations, any
 * locale). `raw`: the product's raw JSON, when the answer shows it, for the base locale's content.
 */
export function serveProduct(
  integration: Pick<Integration, 'catalogLocale' | 'locales'>,
  product: StoredProductSummary & { raw?: unknown },
  rows: readonly StoredLocalisation[],
  asked: string | undefined,
): Served {
  const base = baseLocale(integration);
  const mine = rows.filter((r) => r.product_octo_id === product.id);
  const locale = chooseLocale([asked, integration.locales[0]], base, new Set(mine.map((r) => r.locale)));
  if (same(locale, base)) return { locale: base, title: product.title, options: product.options, content: baseContent(product) };
  const inLocale = new Map(mine.filter((r) => r.locale === locale).map((r) => [`${r.option_octo_id}\u0000${r.unit_octo_id}`, r.content]));
  const titleOf = (option: string, unit: string, fallback: string | null): string | null => {
    const title = inLocale.get(`${option}\u0000${unit}`)?.title;
    return typeof title === 'string' ? title : fallback;
  };
  return {
    locale,
    title: titleOf('', '', product.title),
    options: product.options.map((o) => ({ ...o, title: titleOf(o.id, '', o.title), units: o.units.map((u) => ({ ...u, title: titleOf(o.id, u.id, u.title) })) })),
    content: inLocale.get('\u0000') ?? {},
  };
}

/** The first of `chain` that is the base locale or stored; the base locale (always there) otherwise. */
function chooseLocale(chain: ReadonlyArray<string | undefined>, base: string, stored: ReadonlySet<string>): string {
  for (const candidate of chain) {
    if (candidate === undefined) continue;
    if (same(candidate, base)) return base;
    const hit = [...stored].find((l) => same(l, candidate));
    if (hit !== undefined) return hit;
  }
  return base;
}

/** The base locale's localised fields, from the product's raw JSON (only the title when the answer has no raw). */
function baseContent(product: StoredProductSummary & { raw?: unknown }): Record<string, unknown> {
  if (product.raw === null || typeof product.raw !== 'object') return product.title === null ? {} : { title: product.title };
  const raw = product.raw as Record<string, unknown>;
  const content: Record<string, unknown> = {};
  for (const field of PRODUCT_LOCALISED_FIELDS) if (raw[field] !== undefined) content[field] = raw[field];
  return content;
}

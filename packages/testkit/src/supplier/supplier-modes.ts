import type { CalendarSlot } from './availability-calendar';

/*
 * How the test supplier answers per language, per currency and for unknown product ids: each a
 * documented option of `startTestSupplier` (or its setter), off by default.
 */

/**
 * The languages the supplier speaks (BCP 47). `GET /products` and `GET /products/{id}` answer in
 * the language `Accept-Language` asks for when it is one of `available` (exact, or the same
 * primary subtag: `de` finds `de-DE`), else in `available[0]`, the default. Answers carry
 * `Content-Language` (the language served) and `Available-Languages` (all of them); in a language
 * other than the default, every product, option and unit `title` is localised as `"<title> [<lang>]"`
 * (the id stands in for a missing title).
 */
export interface LanguageMode {
  available: readonly string[];
  /**
   * Replaces the default localisation (titles suffixed) of a product in a language other than the
   * default: a test changes one language's content without touching the others.
   */
  localise?: (product: Record<string, unknown>, language: string) => unknown;
}

/**
 * The currencies the supplier sells in (ISO 4217). Every `POST /availability` slot carries
 * `pricing` and `unitPricing` in the currency the body's `currency` asks for, or in `supported[0]`
 * without one; a currency outside `supported` is refused (400 `BAD_REQUEST`). With
 * `ignoreParameter`, the supplier never reads `currency`: prices come in `supported[0]` whatever
 * was asked (the quirk a pull must detect, not store wrongly).
 */
export interface CurrencyMode {
  supported: readonly string[];
  ignoreParameter?: boolean;
}

/**
 * How `GET /products/{id}` answers an id the supplier does not have: `octo` (the default) 400
 * `INVALID_PRODUCT_ID`; `404-octo` 404 with an OCTO error body; `404` a bare 404 in plain text;
 * `200` a 200 with an empty object.
 */
export type UnknownProductStyle = 'octo' | '404-octo' | '404' | '200';

/** An answer the supplier sends as is. */
interface CannedAnswer {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
}

const json = 'application/json';

function octoError(error: string, errorMessage: string): string {
  return JSON.stringify({ error, errorMessage });
}

/** The answer to `GET /products/{id}` for an unknown id, in `style`. */
export function unknownProductAnswer(style: UnknownProductStyle, id: string): CannedAnswer {
  switch (style) {
    case 'octo':
      return { status: 400, body: octoError('INVALID_PRODUCT_ID', `unknown product ${id}`), contentType: json };
    case '404-octo':
      return { status: 404, body: octoError('NOT_FOUND', `unknown product ${id}`), contentType: json };
    case '404':
      return { status: 404, body: 'Not Found', contentType: 'text/plain; charset=utf-8' };
    case '200':
      return { status: 200, body: '{}', contentType: json };
  }
}

/** The language an `Accept-Language` value chooses among `mode.available` (its first by default). */
export function chooseLanguage(mode: LanguageMode, acceptLanguage: string | undefined): string {
  const fallback = mode.available[0] ?? 'en';
  const asked = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = Number(params.find((p) => p.trim().startsWith('q='))?.trim().slice(2) ?? '1');
      return { tag: tag.trim().toLowerCase(), q: Number.isFinite(q) ? q : 0, index };
    })
    .filter((a) => a.tag !== '' && a.tag !== '*' && a.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of asked) {
    const exact = mode.available.find((l) => l.toLowerCase() === tag);
    const primary = mode.available.find((l) => l.toLowerCase().split('-')[0] === tag.split('-')[0]);
    if (exact ?? primary) return (exact ?? primary)!;
  }
  return fallback;
}

/** The headers of an answer in `language`. */
export function languageHeaders(mode: LanguageMode, language: string): Record<string, string> {
  return { 'content-language': language, 'available-languages': mode.available.join(', ') };
}

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

function titled(entity: Json, language: string): Json {
  const title = typeof entity.title === 'string' ? entity.title : String(entity.id);
  return { ...entity, title: `${title} [${language}]` };
}

/** `product` in `language`: unchanged in the default language, titles localised otherwise. */
export function localiseProduct(mode: LanguageMode, product: unknown, language: string): unknown {
  if (language === mode.available[0] || !isRecord(product)) return product;
  if (mode.localise !== undefined) return mode.localise(product, language);
  const localise = (entity: unknown): unknown => (isRecord(entity) ? titled(entity, language) : entity);
  const option = (o: Json): Json => ({ ...o, ...(Array.isArray(o.units) ? { units: (o.units as unknown[]).map(localise) } : {}) });
  const options = Array.isArray(product.options) ? (product.options as unknown[]).map((o) => (isRecord(o) ? titled(option(o), language) : o)) : product.options;
  return titled({ ...product, options }, language);
}

/** The currency a `POST /availability` body gets its prices in, or a refusal. */
export function pricingCurrency(mode: CurrencyMode, asked: unknown): string | CannedAnswer {
  const fallback = mode.supported[0] ?? 'EUR';
  if (mode.ignoreParameter === true || typeof asked !== 'string') return fallback;
  if (mode.supported.includes(asked)) return asked;
  return { status: 400, body: octoError('BAD_REQUEST', `currency ${asked} is not sold here (supported: ${mode.supported.join(', ')})`), contentType: json };
}

/** `slots` with OCTO pricing (`octo/pricing`) in `currency`. */
export function pricedSlots(slots: readonly CalendarSlot[], currency: string): CalendarSlot[] {
  const price = (retail: number) => ({ original: retail, retail, net: Math.round(retail * 0.8), currency, currencyPrecision: 2, includedTaxes: [] });
  return slots.map((slot) => ({ ...slot, pricing: price(5000), unitPricing: [{ unitId: 'adult', ...price(5000) }, { unitId: 'child', ...price(2500) }] }));
}

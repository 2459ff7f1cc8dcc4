/** A price in one currency, money as integer minor units. */
export interface GeneratedPricing {
  original: number;
  retail: number;
  net: number | null;
  currency: string;
  currencyPrecision: number;
  includedTaxes: Array<{ name: string; retail: number; original: number; net: number | null }>;
}

/** A unit as {@link generateCatalog} makes it. */
export interface GeneratedUnit {
  id: string;
  internalName: string;
  reference: string | null;
  type: string;
  restrictions: Record<string, unknown>;
  pricingFrom: GeneratedPricing[];
  [key: string]: unknown;
}

/** An option as {@link generateCatalog} makes it. */
export interface GeneratedOption {
  id: string;
  default: boolean;
  internalName: string;
  reference: string | null;
  availabilityLocalStartTimes: string[];
  cancellationCutoff: string;
  cancellationCutoffAmount: number;
  cancellationCutoffUnit: string;
  requiredContactFields: string[];
  restrictions: { minUnits: number; maxUnits: number | null };
  units: GeneratedUnit[];
  [key: string]: unknown;
}

/** A product as {@link generateCatalog} makes it. */
export interface GeneratedProduct {
  id: string;
  internalName: string;
  options: GeneratedOption[];
  [key: string]: unknown;
}

/** Options of {@link generateCatalog}. */
export interface GenerateCatalogOptions {
  /** Number of products (default 3). */
  products?: number;
  /** Options per product (default 2). */
  options?: number;
  /** Units per option (default 3). */
  units?: number;
  /** Same seed, same catalog (default 1). Ids do not depend on it, content does. */
  seed?: number;
  /** Product id prefix (default `prod-`). */
  idPrefix?: string;
}

/** mulberry32: tiny, fast, deterministic. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UNIT_KINDS = [
  ['adult', 'ADULT'],
  ['child', 'CHILD'],
  ['infant', 'INFANT'],
  ['youth', 'YOUTH'],
  ['senior', 'SENIOR'],
  ['student', 'STUDENT'],
  ['family', 'FAMILY'],
  ['military', 'MILITARY'],
] as const;
const CURRENCIES = [
  ['EUR', 2],
  ['USD', 2],
  ['GBP', 2],
  ['JPY', 0],
] as const;
const ZONES = ['Europe/London', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'] as const;
const NOUNS = ['Harbour Cruise', 'Old Town Walk', 'Museum Pass', 'Food Tour', 'Castle Visit', 'Bike Ride', 'Wine Tasting', 'Sunset Kayak'] as const;
const CITIES = ['Lisbon', 'Kyoto', 'Edinburgh', 'Boston', 'Sydney', 'Porto', 'Seville', 'Bergen'] as const;

function pick<T>(items: readonly T[], r: () => number): T {
  return items[Math.floor(r() * items.length)] as T;
}

function pricing(r: () => number, currencyIndex: number, scale: number): GeneratedPricing {
  const [currency, precision] = CURRENCIES[currencyIndex] ?? CURRENCIES[0];
  const major = Math.max(1, Math.round((5 + r() * 195) * scale));
  const retail = precision === 0 ? major * 100 : major * 100 + Math.floor(r() * 4) * 25;
  const net = Math.round(retail * 0.8);
  const tax = Math.round(retail * 0.2 / 1.2);
  return {
    original: retail,
    retail,
    net,
    currency,
    currencyPrecision: precision,
    includedTaxes: [{ name: 'VAT', retail: tax, original: tax, net: null }],
  };
}

/**
 * Realistic OCTO products, deterministic for a seed: pricing in integer minor units with
 * currencyPrecision, new- and old-style content fields, restrictions, start times (and the
 * `["00:00"]` quirk on opening-hours products), `DEFAULT` option ids on some products, unit ids
 * unique within their option, and unknown supplier fields. 10,000 × 5 × 4 takes well under a second.
 */
export function generateCatalog(options: GenerateCatalogOptions = {}): GeneratedProduct[] {
  const productCount = options.products ?? 3;
  const optionCount = options.options ?? 2;
  const unitCount = options.units ?? 3;
  const prefix = options.idPrefix ?? 'prod-';
  const r = random(options.seed ?? 1);
  const catalog: GeneratedProduct[] = new Array<GeneratedProduct>(productCount);
  for (let p = 0; p < productCount; p++) {
    const id = `${prefix}${String(p + 1).padStart(5, '0')}`;
    const name = `${pick(CITIES, r)} ${pick(NOUNS, r)}`;
    const openingHours = r() < 0.3;
    const currencyIndex = Math.floor(r() * CURRENCIES.length);
    const [currency] = CURRENCIES[currencyIndex] ?? CURRENCIES[0];
    const oldStyle = r() < 0.25;
    const productOptions: GeneratedOption[] = new Array<GeneratedOption>(optionCount);
    for (let o = 0; o < optionCount; o++) {
      const units: GeneratedUnit[] = new Array<GeneratedUnit>(unitCount);
      for (let u = 0; u < unitCount; u++) {
        const [kindId, type] = UNIT_KINDS[u % UNIT_KINDS.length] ?? UNIT_KINDS[0];
        const round = Math.floor(u / UNIT_KINDS.length);
        const unitScale = type === 'CHILD' || type === 'INFANT' ? 0.5 : 1;
        units[u] = {
          id: round === 0 ? kindId : `${kindId}-${round + 1}`,
          internalName: `${type.charAt(0)}${type.slice(1).toLowerCase()}`,
          reference: r() < 0.5 ? `U-${p}-${o}-${u}` : null,
          type,
          restrictions: {
            minAge: type === 'ADULT' ? 18 : 0,
            maxAge: type === 'ADULT' ? 99 : 17,
            idRequired: false,
            minQuantity: null,
            maxQuantity: 20,
            paxCount: type === 'FAMILY' ? 4 : 1,
            accompaniedBy: type === 'CHILD' || type === 'INFANT' ? ['adult'] : [],
          },
          pricingFrom: [pricing(r, currencyIndex, unitScale)],
        };
      }
      const useDefault = o === 0 && p % 3 !== 2;
      productOptions[o] = {
        id: useDefault ? 'DEFAULT' : `option-${o + 1}`,
        default: o === 0,
        internalName: o === 0 ? 'Standard' : `Variant ${o + 1}`,
        reference: null,
        availabilityLocalStartTimes: openingHours ? (r() < 0.7 ? ['00:00'] : []) : ['09:00', '13:30'],
        cancellationCutoff: '1 day',
        cancellationCutoffAmount: 1,
        cancellationCutoffUnit: 'day',
        requiredContactFields: ['firstName', 'lastName', 'emailAddress'],
        restrictions: { minUnits: 1, maxUnits: r() < 0.5 ? null : 10 },
        units,
      };
    }
    const product: GeneratedProduct = {
      id,
      internalName: name,
      reference: r() < 0.5 ? `REF-${p + 1}` : null,
      locale: 'en',
      timeZone: pick(ZONES, r),
      allowFreesale: r() < 0.2,
      instantConfirmation: true,
      instantDelivery: true,
      availabilityRequired: true,
      availabilityType: openingHours ? 'OPENING_HOURS' : 'START_TIME',
      deliveryFormats: ['QRCODE', 'PDF_URL'],
      deliveryMethods: ['VOUCHER', 'TICKET'],
      redemptionMethod: 'DIGITAL',
      defaultCurrency: currency,
      availableCurrencies: [currency],
      pricingPer: 'UNIT',
      options: productOptions,
      'x-supplier-rating': Math.round(r() * 50) / 10,
    };
    if (oldStyle) {
      product.title = name;
      product.subtitle = `A ${name.toLowerCase()} for everyone`;
      product.country = 'PT';
      product.location = pick(CITIES, r);
      product.highlights = ['Small groups', 'Local guide'];
      product.inclusions = ['Guide'];
      product.exclusions = ['Hotel pickup'];
      product.coverImageUrl = `https://images.example.com/${id}.jpg`;
    } else {
      product.title = name;
      product.shortDescription = `Discover ${name}.`;
      product.description = `<p>${name}: a guided experience.</p>`;
      product.durationMinutesFrom = 60 + Math.floor(r() * 4) * 30;
      product.durationMinutesTo = (product.durationMinutesFrom as number) + 30;
      product.categoryLabels = ['tour'];
    }
    catalog[p] = product;
  }
  return catalog;
}

/** A deep copy, so a mutation never touches the catalog a supplier is serving. */
export function cloneCatalog<T>(catalog: T): T {
  return structuredClone(catalog);
}

/** Where a unit lives in a generated catalog. */
export interface UnitRef {
  productId: string;
  optionId: string;
  unitId: string;
}

function findUnit(catalog: GeneratedProduct[], ref: UnitRef): GeneratedUnit {
  const unit = catalog
    .find((p) => p.id === ref.productId)
    ?.options.find((o) => o.id === ref.optionId)
    ?.units.find((u) => u.id === ref.unitId);
  if (unit === undefined) throw new Error(`no unit ${ref.productId}/${ref.optionId}/${ref.unitId} in the catalog`);
  return unit;
}

/** A copy of `catalog` where one unit's first price has this `retail` (minor units). */
export function withUnitPrice(catalog: GeneratedProduct[], ref: UnitRef, retail: number): GeneratedProduct[] {
  const copy = cloneCatalog(catalog);
  const price = findUnit(copy, ref).pricingFrom[0];
  if (price === undefined) throw new Error(`unit ${ref.unitId} has no price`);
  price.retail = retail;
  price.original = retail;
  return copy;
}

/** A copy of `catalog` without the products with these ids. */
export function withoutProducts(catalog: GeneratedProduct[], ids: readonly string[]): GeneratedProduct[] {
  const drop = new Set(ids);
  return cloneCatalog(catalog.filter((p) => !drop.has(p.id)));
}

/** A copy of `catalog` where one product has a new `internalName` (same OCTO id). */
export function withProductRenamed(catalog: GeneratedProduct[], productId: string, internalName: string): GeneratedProduct[] {
  const copy = cloneCatalog(catalog);
  const product = copy.find((p) => p.id === productId);
  if (product === undefined) throw new Error(`no product ${productId} in the catalog`);
  product.internalName = internalName;
  return copy;
}

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).reverse()) out[key] = reverseKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/**
 * The same JSON value written differently: every object's keys in reverse order and indented.
 * Serve it with `setRawBody` to check that formatting and key order never look like a change.
 */
export function reformatJson(value: unknown, indent = 2): string {
  return JSON.stringify(reverseKeys(value), null, indent);
}

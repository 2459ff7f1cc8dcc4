import type { OctoProduct } from './catalog';

/*
 * Quirks of real suppliers that a sync tolerates, found in a catalog so that the supplier's
 * engineer can see them: none fails a sync, each is worth fixing. Only what a `GET /products`
 * answer can show: availability quirks (such as numbers on FREESALE slots) are not in it.
 */

/** Content fields of the earlier OCTO content shape. */
const OLD_CONTENT_FIELDS = ['subtitle', 'country', 'location', 'highlights', 'inclusions', 'exclusions', 'coverImageUrl', 'galleryImages'];
/** Ids named per warning; the rest are counted. */
const NAMED_IDS = 5;

interface Quirk {
  what: string;
  matches(product: OctoProduct): boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function children(product: OctoProduct): Array<Record<string, unknown>> {
  const options = product.options.filter(isRecord);
  return [...options, ...options.flatMap((o) => (Array.isArray(o.units) ? o.units.filter(isRecord) : []))];
}

function quirks(capabilities: ReadonlySet<string>): Quirk[] {
  const list: Quirk[] = [
    {
      what: 'send availabilityLocalStartTimes ["00:00"] (OCTO wants an empty list for OPENING_HOURS; stored as sent)',
      matches: (p) => p.options.some((o) => isRecord(o) && Array.isArray(o.availabilityLocalStartTimes) && o.availabilityLocalStartTimes.length === 1 && o.availabilityLocalStartTimes[0] === '00:00'),
    },
    {
      what: `use old-style content fields (${OLD_CONTENT_FIELDS.join(', ')}; kept in the raw JSON, not mapped)`,
      matches: (p) => OLD_CONTENT_FIELDS.some((field) => field in p),
    },
  ];
  if (capabilities.has('octo/content')) {
    list.push({ what: 'have no title although octo/content was requested (they will show without a name)', matches: (p) => typeof p.title !== 'string' || p.title === '' });
  }
  if (capabilities.has('octo/pricing')) {
    list.push({
      what: 'have no pricing although octo/pricing was requested (no defaultCurrency, and no pricingFrom or pricing on options or units)',
      matches: (p) => p.defaultCurrency === undefined && !children(p).some((c) => c.pricingFrom !== undefined || c.pricing !== undefined),
    });
  }
  return list;
}

/** The capability ids of an `Octo-Capabilities` value. */
export function capabilityIds(header: string): Set<string> {
  return new Set(header.split(',').map((c) => c.trim()).filter((c) => c !== ''));
}

/** `capabilities` (an `Octo-Capabilities` value) with `capability` added when missing. */
export function withCapability(capabilities: string, capability: string): string {
  return capabilityIds(capabilities).has(capability) ? capabilities : [capabilities, capability].filter((c) => c.trim() !== '').join(', ');
}

/** One warning per quirk present: how many products show it and the first ids. */
export function catalogQuirks(products: readonly OctoProduct[], capabilities: ReadonlySet<string>): string[] {
  const warnings: string[] = [];
  for (const quirk of quirks(capabilities)) {
    const ids = products.filter((p) => quirk.matches(p)).map((p) => JSON.stringify(p.id));
    if (ids.length === 0) continue;
    const named = ids.slice(0, NAMED_IDS).join(', ') + (ids.length > NAMED_IDS ? `, and ${ids.length - NAMED_IDS} more` : '');
    warnings.push(`${ids.length} of ${products.length} products ${quirk.what}: ${named}`);
  }
  return warnings;
}

import type { OctoSlot } from './availability';

/*
 * Prices in an availability answer (OCTO `octo/pricing`): a slot's `pricing` and `unitPricing[]`,
 * each with `currency` and `currencyPrecision`, money in integer minor units. Read, never
 * converted: what is stored is the objects as sent.
 */

/** One slot's prices as the supplier sent them. */
export interface SlotPrices {
  /** The currency they name (the slot's `pricing`, else its first unit price); null: none named. */
  currency: string | null;
  /** `currencyPrecision` of that price; null when absent or not an integer. */
  precision: number | null;
  pricing: unknown;
  unitPricing: unknown;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The price objects of a slot: its `pricing` and each of its `unitPricing`. */
function priceObjects(raw: Record<string, unknown>): Array<Record<string, unknown>> {
  const units = Array.isArray(raw.unitPricing) ? raw.unitPricing.filter(isRecord) : [];
  return [...(isRecord(raw.pricing) ? [raw.pricing] : []), ...units];
}

/** The currencies `slots`' prices name (every `pricing` and `unitPricing` entry). */
export function pricedCurrencies(slots: ReadonlyArray<Pick<OctoSlot, 'raw'>>): Set<string> {
  const seen = new Set<string>();
  for (const slot of slots) {
    for (const price of priceObjects(slot.raw)) if (typeof price.currency === 'string') seen.add(price.currency);
  }
  return seen;
}

/** A slot's prices; undefined when it has none (no `pricing`, no `unitPricing`). */
export function slotPrices(slot: Pick<OctoSlot, 'raw'>): SlotPrices | undefined {
  const objects = priceObjects(slot.raw);
  if (objects.length === 0) return undefined;
  const named = objects.find((p) => typeof p.currency === 'string');
  const precision = named?.currencyPrecision;
  return {
    currency: (named?.currency as string | undefined) ?? null,
    precision: typeof precision === 'number' && Number.isInteger(precision) ? precision : null,
    pricing: slot.raw.pricing ?? null,
    unitPricing: slot.raw.unitPricing ?? null,
  };
}

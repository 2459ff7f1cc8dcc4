import { OPTION_LOCALISED_FIELDS, PRODUCT_LOCALISED_FIELDS, UNIT_LOCALISED_FIELDS } from '@octo-sync/db';
import { canonicalHash, type OctoProduct } from '@octo-sync/octo';

/** One entity's localised fields in one language: `optionId`/`unitId` are '' on a product's (an option's) own entry. */
export interface LocalisedEntry {
  optionId: string;
  unitId: string;
  /** The fields the supplier sent (absent ones left out, null kept). */
  content: Record<string, unknown>;
  /** SHA-256 of the canonical JSON of `content`. */
  contentHash: string;
}

function pick(entity: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  for (const field of fields) if (entity[field] !== undefined) content[field] = entity[field];
  return content;
}

function entry(optionId: string, unitId: string, content: Record<string, unknown>): LocalisedEntry {
  return { optionId, unitId, content, contentHash: canonicalHash(content) };
}

/** The localised fields of a product, its options and their units (entities without a string id are left out). */
export function localisedContent(product: OctoProduct): LocalisedEntry[] {
  const entries = [entry('', '', pick(product, PRODUCT_LOCALISED_FIELDS))];
  for (const option of Array.isArray(product.options) ? product.options : []) {
    if (typeof option?.id !== 'string') continue;
    entries.push(entry(option.id, '', pick(option, OPTION_LOCALISED_FIELDS)));
    for (const unit of Array.isArray(option.units) ? option.units : []) {
      if (typeof unit?.id === 'string') entries.push(entry(option.id, unit.id, pick(unit, UNIT_LOCALISED_FIELDS)));
    }
  }
  return entries;
}


/*
 * What a language changes in a catalog: the text fields of OCTO's `octo/content` capability on
 * products, options and units. Everything else (ids, structure, restrictions, prices, times) is
 * the same in every language and is taken from the integration's first locale only. One list
 * for the sync that stores them (services/worker) and the read API that serves them.
 */

/** The localised fields of a product (OCTO content, with the older `subtitle`). */
export const PRODUCT_LOCALISED_FIELDS = [
  'title',
  'subtitle',
  'shortDescription',
  'description',
  'highlights',
  'inclusions',
  'exclusions',
  'bookingTerms',
  'redemptionInstructions',
  'cancellationPolicy',
  'privacyTerms',
  'alert',
  'faqs',
] as const;

/** The localised fields of an option. */
export const OPTION_LOCALISED_FIELDS = ['title', 'subtitle', 'shortDescription', 'description', 'itinerary'] as const;

/** The localised fields of a unit. */
export const UNIT_LOCALISED_FIELDS = ['title', 'titlePlural', 'subtitle'] as const;


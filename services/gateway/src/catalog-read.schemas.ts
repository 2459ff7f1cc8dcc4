import { z } from 'zod';
import type { ProductListKey, SlotListKey, StoredProduct, StoredProductSummary, StoredSlot } from '@octo-sync/db';
// Loaded first: it extends zod with `.openapi()`.
import './request-schemas';
import { afterQuery, keysetNotWithPage } from './list-paging';
import type { Served } from './localised-read';

/*
 * The read API of stored catalogs and slots: its query strings, its answers, and the presenters
 * that turn store rows into those answers.
 */

const isoTime = z.iso.datetime({ offset: false }).openapi({ example: '2026-06-23T06:00:00.000Z' });
const octoIdQuery = z.string().min(1).max(255);
const instantQuery = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant with an offset, e.g. 2026-07-01T00:00:00Z' });
const localeQuery = z
  .string()
  .regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, 'must be a BCP 47 language tag, such as en or de-DE')
  .optional()
  .openapi({
    description:
      "The language to serve content in. Each product falls back to the integration's first locale, then to the language its catalog rows are in; `locale` says which one was served.",
  });
const paging = {
  page: z.coerce.number().int().min(1).max(1_000_000).default(1).openapi({ type: 'integer', minimum: 1, default: 1 }),
  pageSize: z.coerce.number().int().min(1).max(100).default(20).openapi({ type: 'integer', minimum: 1, maximum: 100, default: 20 }),
};

export const productsQuerySchema = z
  .strictObject({
    ...paging,
    after: afterQuery<ProductListKey>(['text']),
    active: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional()
      .openapi({ type: 'string', enum: ['true', 'false'], description: 'Only active (or only removed) products.' }),
    q: z.string().min(1).max(255).optional().openapi({ description: 'Matches the OCTO product id or the title, case-insensitively, anywhere in it.' }),
    locale: localeQuery,
  })
  .superRefine(keysetNotWithPage);

export const productQuerySchema = z.strictObject({ locale: localeQuery });

export const availabilityQuerySchema = z
  .strictObject({
    ...paging,
    after: afterQuery<SlotListKey>(['instant?', 'text', 'text', 'text']),
    productId: octoIdQuery.optional(),
    optionId: octoIdQuery.optional(),
    from: instantQuery.transform((v) => new Date(v)).optional().openapi({ type: 'string', format: 'date-time', description: 'Slots starting at or after this instant.' }),
    to: instantQuery.transform((v) => new Date(v)).optional().openapi({ type: 'string', format: 'date-time', description: 'Slots starting at or before this instant.' }),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code (three capital letters, such as EUR)')
      .optional()
      .openapi({ description: 'Only slots priced in this currency (one the integration lists in `currencies`), each with `prices` in it.' }),
    max_age_s: z
      .string()
      .regex(/^\d{1,9}$/, 'must be a whole number of seconds, at least 1')
      .transform(Number)
      .refine((n) => n >= 1, 'must be a whole number of seconds, at least 1')
      .optional()
      .openapi({
        type: 'integer',
        minimum: 1,
        description:
          'Freshness bound: slots confirmed more than this many seconds ago make the read join or ask for a pull of the window (whole local days) and wait for it up to a bound; the answer says `fresh`. Needs `productId`, `from` and `to` (at most 31 days apart).',
      }),
  })
  .superRefine(keysetNotWithPage)
  .superRefine(freshReadBounds);

/** The longest window a freshness-bounded read may ask for. */
const FRESH_READ_MAX_DAYS = 31;

/** A freshness-bounded read names its product and a window of at most {@link FRESH_READ_MAX_DAYS} days (every problem listed). */
function freshReadBounds(query: { productId?: string; from?: Date; to?: Date; max_age_s?: number }, ctx: z.RefinementCtx): void {
  if (query.max_age_s === undefined) return;
  for (const name of ['productId', 'from', 'to'] as const) {
    if (query[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'is required with max_age_s' });
  }
  if (query.from === undefined || query.to === undefined) return;
  if (query.to < query.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
  else if (query.to.getTime() - query.from.getTime() > FRESH_READ_MAX_DAYS * 86_400_000) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: `must be at most ${FRESH_READ_MAX_DAYS} days after from with max_age_s` });
  }
}

const stableKey = z.string().openapi({
  description: 'Opaque and stable: kept across syncs, a base_url change, the supplier re-keying the product (product.remapped) and, once an admin links them, the re-creation of the integration.',
  example: '0b9e3c1e-6a43-4c43-9d7e-5d2f0f6c8a11',
});

export const storedProductSchema = z
  .object({
    id: z.string().openapi({ description: 'The OCTO product id.' }),
    key: stableKey,
    internal_name: z.string().nullable(),
    title: z.string().nullable().openapi({ description: 'In the served `locale`.' }),
    locale: z.string().openapi({ description: 'The language the titles (and `content`) are served in: the asked `locale`, else the first locale, else the catalog rows\' own.' }),
    active: z.boolean(),
    removed_at: isoTime.nullable(),
    content_hash: z.string(),
    updated_at: isoTime,
    options: z.array(
      z.object({
        id: z.string(),
        key: stableKey,
        active: z.boolean(),
        title: z.string().nullable(),
        units: z.array(z.object({ id: z.string(), key: stableKey, active: z.boolean(), title: z.string().nullable() })),
      }),
    ),
  })
  .openapi('StoredProduct');

export const storedProductWithRawSchema = storedProductSchema
  .extend({
    content: z.record(z.string(), z.unknown()).openapi({ description: 'The product\'s localised fields (OCTO content: title, shortDescription, description, highlights…) in the served `locale`.' }),
    raw: z.record(z.string(), z.unknown()).openapi({ description: 'The OCTO product as last synced (in the catalog rows\' language), with its options and units.' }),
  })
  .openapi('StoredProductWithRaw');

export const storedSlotSchema = z
  .object({
    productId: z.string(),
    optionId: z.string(),
    availabilityId: z.string(),
    localDateTimeStart: z.string().nullable(),
    starts_at: isoTime.nullable(),
    status: z.string().nullable(),
    vacancies: z.number().int().nullable(),
    capacity: z.number().int().nullable(),
    order: z.object({
      source: z.enum(['sequence', 'updated_at', 'received_at']),
      key: z.string().openapi({ description: 'The order key within its source, as a decimal string.' }),
    }),
    updated_at: isoTime,
    confirmed_at: isoTime.openapi({
      description:
        'When the supplier last confirmed the slot as stored: the later of its last write (`updated_at`) and the newest pull answer covering its local date (an unchanged pull moves it without rewriting the slot).',
    }),
    raw: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'The OCTO availability object as last received, every field kept.' }),
    prices: z
      .object({
        currency: z.string(),
        currency_precision: z.number().int().nullable().openapi({ description: 'Digits after the point of every amount (OCTO `currencyPrecision`).' }),
        pricing: z.unknown().openapi({ description: 'OCTO `pricing` as the supplier sent it, money in integer minor units.' }),
        unit_pricing: z.unknown().openapi({ description: 'OCTO `unitPricing` as sent.' }),
      })
      .optional()
      .openapi({ description: 'With `?currency=` only: the slot’s prices in that currency, from the pull answer asked in it.' }),
  })
  .openapi('StoredSlot');

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

export function presentProductSummary(p: StoredProductSummary, served: Served): z.output<typeof storedProductSchema> {
  return {
    id: p.id,
    key: p.key,
    internal_name: p.internal_name,
    title: served.title,
    locale: served.locale,
    active: p.active,
    removed_at: iso(p.removed_at),
    content_hash: p.content_hash,
    updated_at: p.updated_at.toISOString(),
    options: served.options,
  };
}

export function presentProduct(p: StoredProduct, served: Served): z.output<typeof storedProductWithRawSchema> {
  return { ...presentProductSummary(p, served), content: served.content, raw: p.raw as Record<string, unknown> };
}

export function presentSlot(s: StoredSlot): z.output<typeof storedSlotSchema> {
  return {
    productId: s.product_id,
    optionId: s.option_id,
    availabilityId: s.availability_id,
    localDateTimeStart: s.local_date_time_start,
    starts_at: iso(s.starts_at),
    status: s.status,
    vacancies: s.vacancies,
    capacity: s.capacity,
    order: { source: s.order_source as 'sequence' | 'updated_at' | 'received_at', key: s.order_key },
    updated_at: s.updated_at.toISOString(),
    confirmed_at: s.confirmed_at.toISOString(),
    raw: s.raw as Record<string, unknown> | null,
    ...(s.prices === undefined ? {} : { prices: s.prices }),
  };
}

import type { Pool } from 'pg';
import { cappedCount, COUNT_CAP, offsetOf, toListPage, type ListPage, type ListRequest } from '../paging';
import { confirmedAt } from '../availability/slot-order';
import { startMonths } from '../availability/slot-placement';

/** A stored unit, as the read API lists it. */
export interface StoredUnitSummary {
  id: string;
  /** Stable: kept across syncs, base_url changes and supplier re-keys. */
  key: string;
  active: boolean;
  /** The unit's title as the first locale's answer sent it. */
  title: string | null;
}

/** A stored option with its units, as the read API lists it. */
export interface StoredOptionSummary {
  id: string;
  /** Stable: kept across syncs, base_url changes and supplier re-keys. */
  key: string;
  active: boolean;
  /** The option's title as the first locale's answer sent it. */
  title: string | null;
  units: StoredUnitSummary[];
}

/** A stored product with its options and units (no raw JSON). */
export interface StoredProductSummary {
  id: string;
  /** Stable: kept across syncs, base_url changes, supplier re-keys and linked re-creations. */
  key: string;
  internal_name: string | null;
  title: string | null;
  active: boolean;
  removed_at: Date | null;
  content_hash: string;
  updated_at: Date;
  options: StoredOptionSummary[];
}

/** One product with `raw`: the OCTO product as last synced, its options and units put back in. */
export interface StoredProduct extends StoredProductSummary {
  raw: unknown;
}

/** A stored availability slot with its order source and key and the raw OCTO object. */
export interface StoredSlot {
  product_id: string;
  option_id: string;
  availability_id: string;
  local_date_time_start: string | null;
  starts_at: Date | null;
  status: string | null;
  vacancies: number | null;
  capacity: number | null;
  order_source: string;
  /** Decimal string: receive keys exceed 2^53. */
  order_key: string;
  updated_at: Date;
  /** The later of the slot's last write and the newest pull answer covering its date (`confirmedAt`, slot-order.ts). */
  confirmed_at: Date;
  raw: unknown;
  /** With a currency filter: the slot's prices in it, from the pull answer asked in it. */
  prices?: SlotPricesRead;
}

/** A slot's prices in one currency, as stored (`availability_slot_prices`). */
export interface SlotPricesRead {
  currency: string;
  currency_precision: number | null;
  pricing: unknown;
  unit_pricing: unknown;
}

/** Paging of a list: a 1-based page number and page size, or `after` (keyset paging). */
export type PageRequest<K> = ListRequest<K>;

/** The products list's sort key: the OCTO product id. */
export type ProductListKey = readonly [productId: string];

/** The slots list's sort key: start (ISO 8601, null last), product, option and availability ids. */
export type SlotListKey = readonly [startsAt: string | null, productId: string, optionId: string, availabilityId: string];

/** Filters of the products list: `q` matches the OCTO id or the title, case-insensitively. */
export interface ProductFilter extends PageRequest<ProductListKey> {
  active?: boolean;
  q?: string;
}

/** Filters of the slots list: `from` and `to` bound the slot start, both inclusive. */
export interface SlotFilter extends PageRequest<SlotListKey> {
  productId?: string;
  optionId?: string;
  from?: Date;
  to?: Date;
  /** Only slots priced in this currency (ISO 4217), each with its prices in it. */
  currency?: string;
}

// Options and units come back inside each product row as JSON, so a page costs one statement
// however many children it has (no query per product).
const SUMMARY_COLUMNS = `p.octo_id AS id, p.key::text AS key, p.internal_name, p.title, p.active, p.removed_at, p.content_hash, p.updated_at,
  COALESCE((SELECT json_agg(json_build_object('id', o.octo_id, 'key', o.key, 'active', o.active, 'title', o.raw->>'title', 'units',
      COALESCE((SELECT json_agg(json_build_object('id', u.octo_id, 'key', u.key, 'active', u.active, 'title', u.raw->>'title') ORDER BY u.id) FROM units u WHERE u.option_id = o.id), '[]'::json))
    ORDER BY o.id) FROM product_options o WHERE o.product_id = p.id), '[]'::json) AS options`;

const PRODUCT_FILTER = `p.integration_id = $1::uuid AND ($2::boolean IS NULL OR p.active = $2)
  AND ($3::text IS NULL OR p.octo_id ILIKE $3 ESCAPE '\\' OR p.title ILIKE $3 ESCAPE '\\')`;

// The product's raw JSON without its children, with its options (and theirs, units) put back in;
// children removed from the catalog are left out while the product itself is active.
const RAW_PRODUCT = `p.raw || COALESCE((SELECT jsonb_build_object('options', jsonb_agg(
    o.raw || COALESCE((SELECT jsonb_build_object('units', jsonb_agg(u.raw ORDER BY u.id)) FROM units u
      WHERE u.option_id = o.id AND (u.active OR NOT p.active) HAVING count(*) > 0), '{}'::jsonb)
    ORDER BY o.id)) FROM product_options o WHERE o.product_id = p.id AND (o.active OR NOT p.active) HAVING count(*) > 0), '{}'::jsonb)`;

// The start bounds name their months' partitions too (startMonths), so Postgres scans only those.
// The slot's prices in the currency `$n` (null: none asked), one primary-key lookup per slot.
const PRICE_OF = (n: string) => `FROM availability_slot_prices pr WHERE pr.integration_id = availability_slots.integration_id
    AND pr.option_key = availability_slots.option_key AND pr.availability_id = availability_slots.availability_id AND pr.currency = ${n}`;
const PRICES_COLUMN = (n: string) => `(SELECT json_build_object('currency', pr.currency, 'currency_precision', pr.currency_precision,
    'pricing', pr.pricing, 'unit_pricing', pr.unit_pricing) ${PRICE_OF(n)}) AS prices`;

// $1..$5 as listSlots passes them; `currency`: the parameter of the currency filter.
const SLOT_FILTER = (currency: string) => `integration_id = $1::uuid AND ($2::text IS NULL OR product_octo_id = $2) AND ($3::text IS NULL OR option_octo_id = $3)
  AND ($4::timestamptz IS NULL OR starts_at >= $4) AND ($5::timestamptz IS NULL OR starts_at <= $5)
  AND ${startMonths('availability_slots', '$4', '$5')} AND (${currency}::text IS NULL OR EXISTS (SELECT 1 ${PRICE_OF(currency)}))`;

// Keyset paging in the slots' order (starts_at NULLS LAST, then the ids): the rows after the key
// ($6: whether there is one, $7..$10: the key).
const SLOT_AFTER = `(NOT $6::boolean OR CASE WHEN $7::timestamptz IS NULL
    THEN starts_at IS NULL AND (product_octo_id, option_octo_id, availability_id) > ($8::text, $9::text, $10::text)
    ELSE starts_at > $7 OR starts_at IS NULL OR (starts_at = $7 AND (product_octo_id, option_octo_id, availability_id) > ($8::text, $9::text, $10::text))
  END)`;

/** `text` as a LIKE pattern matching it anywhere, its wildcards taken literally. */
function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * What the read API shows of a stored catalog and its slots: paged (by page or keyset), filtered,
 * each page in one statement plus one count capped at {@link COUNT_CAP}, on indexed columns.
 */
export class CatalogReadStore {
  constructor(private readonly pool: Pool) {}

  async listProducts(integrationId: string, filter: ProductFilter): Promise<ListPage<StoredProductSummary, ProductListKey>> {
    const params = [integrationId, filter.active ?? null, filter.q === undefined ? null : containsPattern(filter.q)];
    const [rows, count] = await Promise.all([
      this.pool.query<StoredProductSummary>(
        `SELECT ${SUMMARY_COLUMNS} FROM products p WHERE ${PRODUCT_FILTER} AND ($4::text IS NULL OR p.octo_id > $4) ORDER BY p.octo_id LIMIT $5 OFFSET $6`,
        [...params, filter.after?.[0] ?? null, filter.pageSize + 1, offsetOf(filter)],
      ),
      this.pool.query<{ n: number }>(cappedCount(`FROM products p WHERE ${PRODUCT_FILTER}`, 4), [...params, COUNT_CAP + 1]),
    ]);
    return toListPage(rows.rows, filter.pageSize, count.rows[0]?.n ?? 0, (r): ProductListKey => [r.id]);
  }

  /** One product with its raw JSON; undefined when the integration has no product of that id. */
  async getProduct(integrationId: string, productId: string): Promise<StoredProduct | undefined> {
    const { rows } = await this.pool.query<StoredProduct>(
      `SELECT ${SUMMARY_COLUMNS}, ${RAW_PRODUCT} AS raw FROM products p WHERE p.integration_id = $1::uuid AND p.octo_id = $2`,
      [integrationId, productId],
    );
    return rows[0];
  }

  async listSlots(integrationId: string, filter: SlotFilter): Promise<ListPage<StoredSlot, SlotListKey>> {
    const params = [integrationId, filter.productId ?? null, filter.optionId ?? null, filter.from ?? null, filter.to ?? null];
    const after = filter.after ?? [null, '', '', ''];
    const [rows, count] = await Promise.all([
      this.pool.query<StoredSlot>(
        `SELECT product_octo_id AS product_id, option_octo_id AS option_id, availability_id, local_date_time_start, starts_at, status,
           vacancies, capacity, order_source, order_key::text AS order_key, updated_at, ${confirmedAt('availability_slots')} AS confirmed_at, raw
           ${filter.currency === undefined ? '' : `, ${PRICES_COLUMN('$13')}`}
         FROM availability_slots WHERE ${SLOT_FILTER('$13')} AND ${SLOT_AFTER}
         ORDER BY starts_at NULLS LAST, product_octo_id, option_octo_id, availability_id LIMIT $11 OFFSET $12`,
        [...params, filter.after !== undefined, ...after, filter.pageSize + 1, offsetOf(filter), filter.currency ?? null],
      ),
      this.pool.query<{ n: number }>(cappedCount(`FROM availability_slots WHERE ${SLOT_FILTER('$7')}`, 6), [...params, COUNT_CAP + 1, filter.currency ?? null]),
    ]);
    return toListPage(rows.rows, filter.pageSize, count.rows[0]?.n ?? 0, (r): SlotListKey => [
      r.starts_at === null ? null : r.starts_at.toISOString(),
      r.product_id,
      r.option_id,
      r.availability_id,
    ]);
  }

  /**
   * Whether a pull answered at or after `since` covered the local dates `from`..`to` (`YYYY-MM-DD`)
   * for every active option of the product (its option `optionId`, when named): a window without
   * slots is confirmed only by such answers (their pull marks), one per option.
   */
  async windowAnsweredSince(integrationId: string, window: { productId: string; optionId?: string; from: string; to: string }, since: Date): Promise<boolean> {
    const { rows } = await this.pool.query<{ answered: boolean }>(
      `WITH o AS (${ACTIVE_OPTIONS})
       SELECT EXISTS (SELECT 1 FROM o) AND NOT EXISTS (SELECT 1 FROM o WHERE NOT EXISTS (
         SELECT 1 FROM availability_pull_marks m WHERE m.integration_id = $1::uuid AND m.product_octo_id = $2 AND m.option_octo_id = o.octo_id
           AND m.date_from <= $4 AND m.date_to >= $5 AND m.answer_key >= $6::bigint))) AS answered`,
      [integrationId, window.productId, window.optionId ?? null, window.from, window.to, (BigInt(since.getTime()) * 1_000_000n).toString()],
    );
    return rows[0]?.answered ?? false;
  }

  /** How many active options of the product (1 or 0 when `optionId` names one): the supplier calls a pull of it makes. */
  async activeOptionCount(integrationId: string, productId: string, optionId?: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${ACTIVE_OPTIONS}) o`, [integrationId, productId, optionId ?? null]);
    return rows[0]?.n ?? 0;
  }
}

// The active options of an active product ($1 integration, $2 product, $3 option or NULL: all).
const ACTIVE_OPTIONS = `SELECT o.octo_id FROM products p JOIN product_options o ON o.product_id = p.id
  WHERE p.integration_id = $1::uuid AND p.octo_id = $2 AND p.active AND o.active AND ($3::text IS NULL OR o.octo_id = $3)`;

/*
 * The catalog writer's upserts, one per table, each reading its rows from a source: a `jsonb`
 * parameter unpacked by `jsonb_to_recordset` (a small slice: no staging table, one round trip), or
 * a temporary staging table filled by COPY (a large slice). The columns are declared once, so the
 * staging tables and the JSON records cannot disagree.
 */

const PRODUCT_COLUMNS = `octo_id text, internal_name text, reference text, title text, locale text, time_zone text,
  availability_type text, default_currency text, pricing_per text, raw jsonb, content_hash text, raw_hash text,
  tree_hash text, option_count integer, unit_count integer`;
const OPTION_COLUMNS = `product_id bigint, octo_id text, is_default boolean, internal_name text, reference text,
  availability_local_start_times text[], cancellation_cutoff_amount integer, cancellation_cutoff_unit text,
  min_units integer, max_units integer, pricing_from jsonb, raw jsonb, content_hash text`;
const UNIT_COLUMNS = `option_id bigint, octo_id text, internal_name text, reference text, type text, min_age integer,
  max_age integer, min_quantity integer, max_quantity integer, pax_count integer, pricing_from jsonb, raw jsonb,
  content_hash text`;

/** Where an upsert reads its rows from (`$n` in a JSON source is the statement's parameter). */
export interface RowSources {
  products: string;
  options: string;
  units: string;
}

/** Rows as one JSON array parameter: `$2` for products (after the integration id), `$1` otherwise. */
export const JSON_SOURCES: RowSources = {
  products: `SELECT * FROM jsonb_to_recordset($2::jsonb) AS j(${PRODUCT_COLUMNS})`,
  options: `SELECT * FROM jsonb_to_recordset($1::jsonb) AS j(${OPTION_COLUMNS})`,
  units: `SELECT * FROM jsonb_to_recordset($1::jsonb) AS j(${UNIT_COLUMNS})`,
};

/** Rows COPY'd into the staging tables of {@link CREATE_STAGING}. */
export const STAGED_SOURCES: RowSources = {
  products: 'SELECT * FROM catalog_stage_products',
  options: 'SELECT * FROM catalog_stage_options',
  units: 'SELECT * FROM catalog_stage_units',
};

/** The staging tables of large slices, dropped with the transaction. */
export const CREATE_STAGING = `
CREATE TEMP TABLE catalog_stage_products (${PRODUCT_COLUMNS}) ON COMMIT DROP;
CREATE TEMP TABLE catalog_stage_options (${OPTION_COLUMNS}) ON COMMIT DROP;
CREATE TEMP TABLE catalog_stage_units (${UNIT_COLUMNS}) ON COMMIT DROP`;

/** Empties the staging tables between two large slices. */
export const CLEAR_STAGING = 'TRUNCATE catalog_stage_products, catalog_stage_options, catalog_stage_units';
/** COPY targets of the staging tables. */
export const COPY_STAGE_PRODUCTS = 'COPY catalog_stage_products FROM STDIN';
export const COPY_STAGE_OPTIONS = 'COPY catalog_stage_options FROM STDIN';
export const COPY_STAGE_UNITS = 'COPY catalog_stage_units FROM STDIN';

/** The products, then their fingerprints (matched to the source rows by OCTO id), in one statement; `$1` is the integration id. */
export const upsertProducts = (source: string): string => `
WITH r AS MATERIALIZED (${source}), written AS (
  INSERT INTO products AS t (integration_id, octo_id, internal_name, reference, title, locale, time_zone,
    availability_type, default_currency, pricing_per, raw, content_hash, active, removed_at, updated_at)
  SELECT $1::uuid, r.octo_id, r.internal_name, r.reference, r.title, r.locale, r.time_zone,
    r.availability_type, r.default_currency, r.pricing_per, r.raw, r.content_hash, true, NULL, now()
  FROM r
  ON CONFLICT (integration_id, octo_id) DO UPDATE SET
    internal_name = excluded.internal_name, reference = excluded.reference, title = excluded.title,
    locale = excluded.locale, time_zone = excluded.time_zone, availability_type = excluded.availability_type,
    default_currency = excluded.default_currency, pricing_per = excluded.pricing_per, raw = excluded.raw,
    content_hash = excluded.content_hash, active = true, removed_at = NULL, updated_at = now()
  RETURNING t.id, t.octo_id
), fingerprints AS (
  INSERT INTO product_fingerprints AS f (product_id, raw_hash, tree_hash, option_count, unit_count)
  SELECT w.id, r.raw_hash, r.tree_hash, r.option_count, r.unit_count
  FROM written w JOIN r ON r.octo_id = w.octo_id
  ON CONFLICT (product_id) DO UPDATE SET
    raw_hash = excluded.raw_hash, tree_hash = excluded.tree_hash, option_count = excluded.option_count, unit_count = excluded.unit_count
)
SELECT id::text AS id, octo_id FROM written`;

/** The options, with their product's row id; returns their ids. */
export const upsertOptions = (source: string): string => `
INSERT INTO product_options AS t (product_id, octo_id, is_default, internal_name, reference,
  availability_local_start_times, cancellation_cutoff_amount, cancellation_cutoff_unit, min_units,
  max_units, pricing_from, raw, content_hash, active, removed_at, updated_at)
SELECT r.product_id, r.octo_id, r.is_default, r.internal_name, r.reference, r.availability_local_start_times,
  r.cancellation_cutoff_amount, r.cancellation_cutoff_unit, r.min_units, r.max_units, r.pricing_from,
  r.raw, r.content_hash, true, NULL, now()
FROM (${source}) r
ON CONFLICT (product_id, octo_id) DO UPDATE SET
  is_default = excluded.is_default, internal_name = excluded.internal_name, reference = excluded.reference,
  availability_local_start_times = excluded.availability_local_start_times,
  cancellation_cutoff_amount = excluded.cancellation_cutoff_amount,
  cancellation_cutoff_unit = excluded.cancellation_cutoff_unit, min_units = excluded.min_units,
  max_units = excluded.max_units, pricing_from = excluded.pricing_from, raw = excluded.raw,
  content_hash = excluded.content_hash, active = true, removed_at = NULL, updated_at = now()
RETURNING t.id::text AS id, t.product_id::text AS product_id, t.octo_id`;

/** The units, with their option's row id. */
export const upsertUnits = (source: string): string => `
INSERT INTO units AS t (option_id, octo_id, internal_name, reference, type, min_age, max_age,
  min_quantity, max_quantity, pax_count, pricing_from, raw, content_hash, active, removed_at, updated_at)
SELECT r.option_id, r.octo_id, r.internal_name, r.reference, r.type, r.min_age, r.max_age, r.min_quantity,
  r.max_quantity, r.pax_count, r.pricing_from, r.raw, r.content_hash, true, NULL, now()
FROM (${source}) r
ON CONFLICT (option_id, octo_id) DO UPDATE SET
  internal_name = excluded.internal_name, reference = excluded.reference, type = excluded.type,
  min_age = excluded.min_age, max_age = excluded.max_age, min_quantity = excluded.min_quantity,
  max_quantity = excluded.max_quantity, pax_count = excluded.pax_count, pricing_from = excluded.pricing_from,
  raw = excluded.raw, content_hash = excluded.content_hash, active = true, removed_at = NULL, updated_at = now()`;

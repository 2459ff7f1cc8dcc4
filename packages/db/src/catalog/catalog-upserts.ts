import { appendEventsLast } from '../feed/change-outbox';

/*
 * The catalog merge: one set-based statement per table, each reading its rows from a source: a
 * `jsonb` parameter unpacked by `jsonb_to_recordset` (a small run: no staging at all), or the
 * run's lane of `catalog_stage`, filled by COPY before the transaction opened (a large run). The
 * columns are declared once, so the staged rows and the JSON records cannot disagree.
 *
 * Every statement takes `$1`, the integration id. A small run's rows go in one statement
 * ({@link MERGE_JSON}); a staged run's kinds each in their own ({@link UPSERT}), reading the run and
 * fence `$2`, `$3`. A parent the run does not rewrite comes with its stored id; a new one is found
 * by OCTO id (in the RETURNING of its own part, or in its table once its statement ran), so no id
 * travels back to the worker.
 */

const PRODUCT_COLUMNS = `octo_id text, internal_name text, reference text, title text, locale text, time_zone text,
  availability_type text, default_currency text, pricing_per text, raw jsonb, content_hash text, raw_hash text,
  tree_hash text, option_count integer, unit_count integer`;
const OPTION_COLUMNS = `product_id bigint, product_octo_id text, octo_id text, is_default boolean, internal_name text, reference text,
  availability_local_start_times text[], cancellation_cutoff_amount integer, cancellation_cutoff_unit text,
  min_units integer, max_units integer, pricing_from jsonb, raw jsonb, content_hash text`;
const UNIT_COLUMNS = `option_id bigint, product_id bigint, product_octo_id text, option_octo_id text, octo_id text, internal_name text, reference text,
  type text, min_age integer, max_age integer, min_quantity integer, max_quantity integer, pax_count integer,
  pricing_from jsonb, raw jsonb, content_hash text`;
const FINGERPRINT_COLUMNS = 'product_id bigint, raw_hash text, tree_hash text, option_count integer, unit_count integer';

/** The kinds of rows a run writes, and the statement of each. */
export type RowKind = 'products' | 'options' | 'units' | 'fingerprints';

const COLUMNS: Record<RowKind, string> = { products: PRODUCT_COLUMNS, options: OPTION_COLUMNS, units: UNIT_COLUMNS, fingerprints: FINGERPRINT_COLUMNS };
/** The kind letter of a staged row (`catalog_stage.kind`). */
export const STAGE_KIND: Record<RowKind, string> = { products: 'p', options: 'o', units: 'u', fingerprints: 'f' };

const names = (columns: string) => columns.split(',').map((c) => c.trim().split(/\s+/)[0]!);

/** Where a statement reads one kind's rows from. */
export type RowSource = (kind: RowKind) => string;

/** One kind's rows as the JSON array parameter `$n`. */
function jsonRows(kind: RowKind, n: number): string {
  return `SELECT * FROM jsonb_to_recordset($${n}::jsonb) AS j(${COLUMNS[kind]})`;
}

/** Rows staged in `lane` by run `$2` under fence `$3` (the lane's own partition: nothing else is locked or read). */
export function laneSource(lane: number): RowSource {
  return (kind) => `SELECT ${names(COLUMNS[kind]).join(', ')} FROM ${laneTable(lane)} WHERE run_id = $2::uuid AND fence = $3::bigint AND kind = '${STAGE_KIND[kind]}'`;
}

/** A lane's partition of `catalog_stage` (lanes are the integers 0…63 the migration created). */
export function laneTable(lane: number): string {
  if (!Number.isInteger(lane) || lane < 0) throw new Error(`catalog stage: no lane ${lane}`);
  return `catalog_stage_${lane}`;
}

/** The products from `from` (rows `r`), returning their ids by OCTO id. */
const insertProducts = (from: string): string => `
  INSERT INTO products AS t (integration_id, octo_id, internal_name, reference, title, locale, time_zone,
    availability_type, default_currency, pricing_per, raw, content_hash, active, removed_at, updated_at)
  SELECT $1::uuid, r.octo_id, r.internal_name, r.reference, r.title, r.locale, r.time_zone,
    r.availability_type, r.default_currency, r.pricing_per, r.raw, r.content_hash, true, NULL, now()
  FROM ${from}
  ON CONFLICT (integration_id, octo_id) DO UPDATE SET
    internal_name = excluded.internal_name, reference = excluded.reference, title = excluded.title,
    locale = excluded.locale, time_zone = excluded.time_zone, availability_type = excluded.availability_type,
    default_currency = excluded.default_currency, pricing_per = excluded.pricing_per, raw = excluded.raw,
    content_hash = excluded.content_hash, active = true, removed_at = NULL, updated_at = now()
  RETURNING t.id, t.octo_id`;

/** Fingerprints from `from` (rows `r`), the product's id being `id`. */
const insertFingerprints = (from: string, id = 'r.product_id'): string => `
INSERT INTO product_fingerprints AS f (product_id, raw_hash, tree_hash, option_count, unit_count)
SELECT ${id}, r.raw_hash, r.tree_hash, r.option_count, r.unit_count
FROM ${from}
ON CONFLICT (product_id) DO UPDATE SET
  raw_hash = excluded.raw_hash, tree_hash = excluded.tree_hash, option_count = excluded.option_count, unit_count = excluded.unit_count`;

/** The options from `source` (rows `r`); `parent` (`p`) is where a new product's id is found. */
const insertOptions = (source: string, parent: string): string => `
INSERT INTO product_options AS t (product_id, octo_id, is_default, internal_name, reference,
  availability_local_start_times, cancellation_cutoff_amount, cancellation_cutoff_unit, min_units,
  max_units, pricing_from, raw, content_hash, active, removed_at, updated_at)
SELECT COALESCE(r.product_id, p.id), r.octo_id, r.is_default, r.internal_name, r.reference, r.availability_local_start_times,
  r.cancellation_cutoff_amount, r.cancellation_cutoff_unit, r.min_units, r.max_units, r.pricing_from,
  r.raw, r.content_hash, true, NULL, now()
FROM (${source}) r ${parent}
ON CONFLICT (product_id, octo_id) DO UPDATE SET
  is_default = excluded.is_default, internal_name = excluded.internal_name, reference = excluded.reference,
  availability_local_start_times = excluded.availability_local_start_times,
  cancellation_cutoff_amount = excluded.cancellation_cutoff_amount,
  cancellation_cutoff_unit = excluded.cancellation_cutoff_unit, min_units = excluded.min_units,
  max_units = excluded.max_units, pricing_from = excluded.pricing_from, raw = excluded.raw,
  content_hash = excluded.content_hash, active = true, removed_at = NULL, updated_at = now()`;

/** The units from `source` (rows `r`); `parent` (`o`) is where a new option's id is found. */
const insertUnits = (source: string, parent: string): string => `
INSERT INTO units AS t (option_id, octo_id, internal_name, reference, type, min_age, max_age,
  min_quantity, max_quantity, pax_count, pricing_from, raw, content_hash, active, removed_at, updated_at)
SELECT COALESCE(r.option_id, o.id), r.octo_id, r.internal_name, r.reference, r.type, r.min_age, r.max_age, r.min_quantity,
  r.max_quantity, r.pax_count, r.pricing_from, r.raw, r.content_hash, true, NULL, now()
FROM (${source}) r ${parent}
ON CONFLICT (option_id, octo_id) DO UPDATE SET
  internal_name = excluded.internal_name, reference = excluded.reference, type = excluded.type,
  min_age = excluded.min_age, max_age = excluded.max_age, min_quantity = excluded.min_quantity,
  max_quantity = excluded.max_quantity, pax_count = excluded.pax_count, pricing_from = excluded.pricing_from,
  raw = excluded.raw, content_hash = excluded.content_hash, active = true, removed_at = NULL, updated_at = now()`;

// New parents, looked up in the tables: each kind's statement runs after its parents'.
const STORED_PRODUCT = 'LEFT JOIN products p ON r.product_id IS NULL AND p.integration_id = $1::uuid AND p.octo_id = r.product_octo_id';
const STORED_OPTION = `LEFT JOIN (products p JOIN product_options o ON o.product_id = p.id)
  ON r.option_id IS NULL AND p.integration_id = $1::uuid AND p.octo_id = r.product_octo_id AND o.octo_id = r.option_octo_id`;

/**
 * Each kind's own statement over `source` (`STAGED_ORDER`: parents first): how a staged run
 * merges. Fingerprints alone go by stored id, which must be one of this integration's products.
 */
export const UPSERT: Record<RowKind | 'productFingerprints', (source: RowSource) => string> = {
  products: (source) => insertProducts(`(${source('products')}) r`),
  // Matched by the products' unique index, once they are written: a join of the products' RETURNING
  // with their source rows (as MERGE_JSON does) has no statistics to plan by, and over thousands of
  // products whose source spilled to disk it ran for minutes.
  productFingerprints: (source) => insertFingerprints(`(${source('products')}) r JOIN products p ON p.integration_id = $1::uuid AND p.octo_id = r.octo_id`, 'p.id'),
  fingerprints: (source) => insertFingerprints(`(${source('fingerprints')}) r JOIN products p ON p.id = r.product_id AND p.integration_id = $1::uuid`),
  options: (source) => insertOptions(source('options'), STORED_PRODUCT),
  units: (source) => insertUnits(source('units'), STORED_OPTION),
};

/** The order of a staged run's statements, and the kind whose rows each one reads. */
export const STAGED_ORDER: ReadonlyArray<[statement: keyof typeof UPSERT, kind: RowKind]> = [
  ['products', 'products'],
  ['productFingerprints', 'products'],
  ['fingerprints', 'fingerprints'],
  ['options', 'options'],
  ['units', 'units'],
];

/**
 * A small run's whole merge in one statement (one round trip): `$2`…`$5` are the JSON rows of
 * products, fingerprints alone, options and units. A statement's parts see each other's rows only
 * through RETURNING, so new parents' ids come from the products' and options' own.
 */
export const MERGE_JSON = mergeJson();

/**
 * {@link MERGE_JSON} and the run's change events (`$6`, JSON) in the same round trip, when they
 * are all known before the transaction (a small run that removes nothing): the events' append
 * waits for every part's rows (see `appendEventsLast`).
 */
export const MERGE_JSON_PUBLISHING = mergeJson(6);

function mergeJson(events?: number): string {
  const returning = events === undefined ? '' : '\n  RETURNING f.product_id';
  const units = insertUnits(
    jsonRows('units', 5),
    `LEFT JOIN written p ON r.option_id IS NULL AND r.product_id IS NULL AND p.octo_id = r.product_octo_id
  LEFT JOIN written_options o ON r.option_id IS NULL AND o.product_id = COALESCE(r.product_id, p.id) AND o.octo_id = r.option_octo_id`,
  );
  const parts = `
WITH r AS MATERIALIZED (${jsonRows('products', 2)}), written AS (${insertProducts('r')}),
fingerprints AS (${insertFingerprints('written w JOIN r ON r.octo_id = w.octo_id', 'w.id')}${returning}),
fingerprints_alone AS (${insertFingerprints(`(${jsonRows('fingerprints', 3)}) r JOIN products p ON p.id = r.product_id AND p.integration_id = $1::uuid`)}${returning}),
written_options AS (${insertOptions(jsonRows('options', 4), 'LEFT JOIN written p ON r.product_id IS NULL AND p.octo_id = r.product_octo_id')}
  RETURNING t.id, t.product_id, t.octo_id)`;
  if (events === undefined) return `${parts}\n${units}`;
  const written = ['written', 'fingerprints', 'fingerprints_alone', 'written_options', 'written_units'].map((part) => `(SELECT count(*) FROM ${part})`).join(' + ');
  return `${parts},\nwritten_units AS (${units}\n  RETURNING t.id),\n${appendEventsLast(events, written)}`;
}

/** The staged columns, in the order of a COPY line (`catalog_stage`, see the migration `catalog_stage`). */
export const STAGE_COLUMNS = [
  'lane', 'run_id', 'fence', 'kind', 'product_id', 'product_octo_id', 'option_id', 'option_octo_id', 'octo_id',
  'internal_name', 'reference', 'title', 'locale', 'time_zone', 'availability_type', 'default_currency', 'pricing_per',
  'is_default', 'availability_local_start_times', 'cancellation_cutoff_amount', 'cancellation_cutoff_unit', 'min_units',
  'max_units', 'type', 'min_age', 'max_age', 'min_quantity', 'max_quantity', 'pax_count', 'pricing_from', 'raw',
  'content_hash', 'raw_hash', 'tree_hash', 'option_count', 'unit_count',
] as const;

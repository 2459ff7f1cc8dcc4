/*
 * Moving a product's identity to another supplier id: the one owner of what a remap does to the
 * rows, whether a sync matched a re-key 1:1 or an admin remapped by hand. The product that
 * appeared takes the key of the one that left (which gets a fresh key: a key names one row), its
 * options and units take the keys of their counterparts (matched by id, else by a reference
 * unique on both sides), and the slots stored under the old ids move to the new ones (slot rows
 * hang off `slot_options`, one row per option: renaming it moves every slot).
 */

/** A transaction's statements (a pg client, or a catalog run's fenced transaction). */
export interface IdentitySql {
  query<R>(sql: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/** A product whose key moved from one supplier id to another. */
export interface Remap {
  from: string;
  to: string;
  key: string;
  contentHash: string;
}

// $1 integration, $2 the product that left, $3 the one that appeared (both locked for the move).
const MOVE_PRODUCT_KEY = `
WITH f AS (SELECT id, key FROM products WHERE integration_id = $1::uuid AND octo_id = $2 FOR UPDATE),
t AS (SELECT id FROM products WHERE integration_id = $1::uuid AND octo_id = $3 FOR UPDATE),
moved AS (UPDATE products p SET key = CASE WHEN p.id = t.id THEN f.key ELSE gen_random_uuid() END
  FROM f, t WHERE p.id IN (f.id, t.id) RETURNING p.id, p.key, p.content_hash)
SELECT f.id::text AS from_id, t.id::text AS to_id, f.key::text AS key, m.content_hash
FROM f, t JOIN moved m ON m.id = t.id`;

/**
 * The children of `$1` (JSON pairs of parent row ids `{f, t}`) in `table` under `parent`: pairs
 * matched by id, else by a reference unique among both parents' unmatched children; each `t`
 * takes its `f`'s key and `f` a fresh one. Returns the pairs with their supplier ids.
 */
const moveChildKeys = (table: string, parent: string) => `
WITH parents AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(f bigint, t bigint)),
fc AS (SELECT c.id, c.octo_id, c.reference, c.key, p.f AS pf, p.t AS pt FROM parents p JOIN ${table} c ON c.${parent} = p.f),
tc AS (SELECT c.id, c.octo_id, c.reference, p.f AS pf FROM parents p JOIN ${table} c ON c.${parent} = p.t),
by_id AS (SELECT fc.id AS f, tc.id AS t FROM fc JOIN tc ON tc.pf = fc.pf AND tc.octo_id = fc.octo_id),
by_ref AS (SELECT min(fc.id) AS f, min(tc.id) AS t FROM fc JOIN tc ON tc.pf = fc.pf AND tc.reference = fc.reference
  WHERE fc.id NOT IN (SELECT f FROM by_id) AND tc.id NOT IN (SELECT t FROM by_id)
  GROUP BY fc.pf, fc.reference HAVING count(DISTINCT fc.id) = 1 AND count(DISTINCT tc.id) = 1),
pairs AS (SELECT * FROM by_id UNION ALL SELECT * FROM by_ref),
moved AS (UPDATE ${table} c SET key = CASE WHEN c.id = pairs.t THEN fc.key ELSE gen_random_uuid() END
  FROM pairs JOIN fc ON fc.id = pairs.f WHERE c.id IN (pairs.f, pairs.t))
SELECT pairs.f::text AS f, pairs.t::text AS t, fc.octo_id AS from_octo_id, tc.octo_id AS to_octo_id
FROM pairs JOIN fc ON fc.id = pairs.f JOIN tc ON tc.id = pairs.t`;

const MOVE_OPTION_KEYS = moveChildKeys('product_options', 'product_id');
const MOVE_UNIT_KEYS = moveChildKeys('units', 'option_id');

// $1 integration, $2 old product id, $3 new product id, $4 JSON option pairs {from, to}. An option
// of the new product that already has slots keeps them; the old option's slots then stay where they were.
const MOVE_SLOTS = `
WITH m AS (SELECT * FROM jsonb_to_recordset($4::jsonb) AS x("from" text, "to" text)),
moved AS (UPDATE slot_options s SET product_octo_id = $3, option_octo_id = m."to" FROM m
  WHERE s.integration_id = $1::uuid AND s.product_octo_id = $2 AND s.option_octo_id = m."from"
    AND NOT EXISTS (SELECT 1 FROM slot_options x WHERE x.integration_id = $1::uuid AND x.product_octo_id = $3 AND x.option_octo_id = m."to")
  RETURNING s.option_key, s.option_octo_id)
UPDATE availability_slots a SET product_octo_id = $3, option_octo_id = moved.option_octo_id
FROM moved WHERE a.integration_id = $1::uuid AND a.option_key = moved.option_key`;

interface Pair {
  f: string;
  t: string;
  from_octo_id: string;
  to_octo_id: string;
}

/**
 * Moves the identity of product `from` to product `to` (both stored rows of the integration):
 * keys of the product, its options and units, and its slots. Undefined when either is missing.
 */
export async function moveIdentity(sql: IdentitySql, integrationId: string, from: string, to: string): Promise<Remap | undefined> {
  const { rows } = await sql.query<{ from_id: string; to_id: string; key: string; content_hash: string }>(MOVE_PRODUCT_KEY, [integrationId, from, to]);
  const product = rows[0];
  if (product === undefined) return undefined;
  const options = await sql.query<Pair>(MOVE_OPTION_KEYS, [JSON.stringify([{ f: product.from_id, t: product.to_id }])]);
  if (options.rows.length > 0) await sql.query(MOVE_UNIT_KEYS, [JSON.stringify(options.rows.map((p) => ({ f: p.f, t: p.t })))]);
  const slotPairs = options.rows.map((p) => ({ from: p.from_octo_id, to: p.to_octo_id }));
  if (slotPairs.length > 0) await sql.query(MOVE_SLOTS, [integrationId, from, to, JSON.stringify(slotPairs)]);
  return { from, to, key: product.key, contentHash: product.content_hash };
}

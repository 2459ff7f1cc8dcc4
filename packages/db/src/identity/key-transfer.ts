/*
 * Moving products' identity to other supplier ids: the one owner of what a remap does to the
 * rows, whether a sync matched re-keys 1:1, an admin remapped by hand, or an admin linked a
 * re-created integration to the one it replaces. Each product that takes an identity takes the
 * key of its counterpart (which gets a fresh key: a key names one row), its options and units
 * take the keys of their counterparts (matched by id, else by a reference unique on both sides),
 * and, within one integration, the slots stored under the old ids move to the new ones (slot rows
 * hang off `slot_options`, one row per option: renaming it moves every slot of the option).
 *
 * Set-based: one statement per table however many products move, so a run's re-keys cost the
 * same few round trips in its fenced transaction whether it re-keys one product or thousands.
 */

import { LOCK_OPTION_MARKS } from '../availability/pull-marks';

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

/** Which product takes whose identity: `from` in integration `source`, `to` in `target`. */
interface ProductMove {
  source: string;
  target: string;
  pairs: ReadonlyArray<{ from: string; to: string }>;
}

// $1 source integration, $2 target integration, $3 JSON pairs {from, to} (disjoint). Each `to`
// takes its `from`'s key and the time it took one; `from` a fresh one, the time it handed its
// identity on, and no longer holds one it took.
const MOVE_PRODUCT_KEYS = `
WITH m AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS x("from" text, "to" text)),
pairs AS (SELECT f.id AS f, t.id AS t, f.key AS fkey, m."from", m."to" FROM m
  JOIN products f ON f.integration_id = $1::uuid AND f.octo_id = m."from"
  JOIN products t ON t.integration_id = $2::uuid AND t.octo_id = m."to"
  WHERE f.id <> t.id),
moved AS (UPDATE products p SET key = CASE WHEN p.id = pairs.t THEN pairs.fkey ELSE gen_random_uuid() END,
    remapped_at = CASE WHEN p.id = pairs.f THEN now() ELSE p.remapped_at END,
    key_inherited_at = CASE WHEN p.id = pairs.t THEN now() END
  FROM pairs WHERE p.id = pairs.f OR p.id = pairs.t RETURNING p.id, p.content_hash)
SELECT pairs.f::text AS f, pairs.t::text AS t, pairs."from", pairs."to", pairs.fkey::text AS key, moved.content_hash
FROM pairs JOIN moved ON moved.id = pairs.t`;

/**
 * The children of `$1` (JSON pairs of parent row ids `{f, t}`) in `table` under `parent`: pairs
 * matched by id, else by a reference unique among both parents' unmatched children; each `t`
 * takes its `f`'s key and `f` a fresh one. Returns the pairs with their supplier ids.
 */
const moveChildKeys = (table: string, parent: string) => `
WITH parents AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(f bigint, t bigint)),
fc AS (SELECT c.id, c.octo_id, c.reference, c.key, p.f AS pf FROM parents p JOIN ${table} c ON c.${parent} = p.f),
tc AS (SELECT c.id, c.octo_id, c.reference, p.f AS pf FROM parents p JOIN ${table} c ON c.${parent} = p.t),
by_id AS (SELECT fc.id AS f, tc.id AS t FROM fc JOIN tc ON tc.pf = fc.pf AND tc.octo_id = fc.octo_id),
by_ref AS (SELECT min(fc.id) AS f, min(tc.id) AS t FROM fc JOIN tc ON tc.pf = fc.pf AND tc.reference = fc.reference
  WHERE fc.id NOT IN (SELECT f FROM by_id) AND tc.id NOT IN (SELECT t FROM by_id)
  GROUP BY fc.pf, fc.reference HAVING count(DISTINCT fc.id) = 1 AND count(DISTINCT tc.id) = 1),
pairs AS (SELECT * FROM by_id UNION ALL SELECT * FROM by_ref),
moved AS (UPDATE ${table} c SET key = CASE WHEN c.id = pairs.t THEN fc.key ELSE gen_random_uuid() END
  FROM pairs JOIN fc ON fc.id = pairs.f WHERE c.id = pairs.f OR c.id = pairs.t)
SELECT pairs.f::text AS f, pairs.t::text AS t, fc.octo_id AS from_octo_id, tc.octo_id AS to_octo_id, tc.pf::text AS pf
FROM pairs JOIN fc ON fc.id = pairs.f JOIN tc ON tc.id = pairs.t`;

const MOVE_OPTION_KEYS = moveChildKeys('product_options', 'product_id');
const MOVE_UNIT_KEYS = moveChildKeys('units', 'option_id');

// $1 integration, $2 the OCTO ids of the products whose slots may move: their options as the
// catalog stores them, LOCK_OPTION_MARKS's $2.
const OPTIONS_OF = `SELECT COALESCE(json_agg(json_build_object('product_octo_id', p.octo_id, 'option_octo_id', o.octo_id)), '[]')::text AS options
FROM products p JOIN product_options o ON o.product_id = p.id WHERE p.integration_id = $1::uuid AND p.octo_id = ANY($2::text[])`;

// $1 integration, $2 JSON option moves {fp, fo, tp, "to"} (product and option ids before and
// after). An option of the new product that already has slots (pushed before the catalog named
// it) keeps them; the old option's slots then stay under the old ids.
const MOVE_SLOTS = `
WITH m AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(fp text, fo text, tp text, "to" text)),
moved AS (UPDATE slot_options s SET product_octo_id = m.tp, option_octo_id = m."to" FROM m
  WHERE s.integration_id = $1::uuid AND s.product_octo_id = m.fp AND s.option_octo_id = m.fo
    AND NOT EXISTS (SELECT 1 FROM slot_options x WHERE x.integration_id = $1::uuid AND x.product_octo_id = m.tp AND x.option_octo_id = m."to")
  RETURNING s.option_key, s.product_octo_id, s.option_octo_id)
UPDATE availability_slots a SET product_octo_id = moved.product_octo_id, option_octo_id = moved.option_octo_id
FROM moved WHERE a.integration_id = $1::uuid AND a.option_key = moved.option_key`;

interface ProductPair {
  f: string;
  t: string;
  from: string;
  to: string;
  key: string;
  content_hash: string;
}

interface ChildPair {
  f: string;
  t: string;
  from_octo_id: string;
  to_octo_id: string;
  /** The row id of the parent the pair's `f` hangs off. */
  pf: string;
}

/** Moves the keys of the products, options and units of `move`; returns the products moved and their option pairs. */
async function moveKeys(sql: IdentitySql, move: ProductMove): Promise<{ products: ProductPair[]; options: ChildPair[] }> {
  if (move.pairs.length === 0) return { products: [], options: [] };
  const { rows: products } = await sql.query<ProductPair>(MOVE_PRODUCT_KEYS, [move.source, move.target, JSON.stringify(move.pairs)]);
  if (products.length === 0) return { products, options: [] };
  const { rows: options } = await sql.query<ChildPair>(MOVE_OPTION_KEYS, [JSON.stringify(products.map((p) => ({ f: p.f, t: p.t })))]);
  if (options.length > 0) await sql.query(MOVE_UNIT_KEYS, [JSON.stringify(options.map((p) => ({ f: p.f, t: p.t })))]);
  return { products, options };
}

/**
 * Moves the identity of each product `from` to product `to` of the same integration (stored rows,
 * each id in one pair at most): keys of the products, their options and units, and their slots.
 * Returns the pairs moved (a pair missing either row is left out).
 */
export async function moveIdentity(sql: IdentitySql, integrationId: string, pairs: ReadonlyArray<{ from: string; to: string }>): Promise<Remap[]> {
  if (pairs.length > 0) await lockOptions(sql, integrationId, pairs.flatMap((p) => [p.from, p.to]));
  const { products, options } = await moveKeys(sql, { source: integrationId, target: integrationId, pairs });
  const byRow = new Map(products.map((p) => [p.f, p]));
  const slotMoves = options.map((o) => ({ fp: byRow.get(o.pf)!.from, fo: o.from_octo_id, tp: byRow.get(o.pf)!.to, to: o.to_octo_id }));
  if (slotMoves.length > 0) await sql.query(MOVE_SLOTS, [integrationId, JSON.stringify(slotMoves)]);
  return products.map((p) => ({ from: p.from, to: p.to, key: p.key, contentHash: p.content_hash }));
}

/**
 * Takes the pull write lock (LOCK_OPTION_MARKS) of every option of `productIds` before anything
 * moves, so a pull's write of those options and the move take turns: a pull that wrote first has
 * its slots moved, and none writes slots under the old ids while the move renames them. A pull
 * that planned its targets before the move and writes after it still writes under the ids it
 * planned with (the product that handed its key on), until a later pull of the new id.
 */
async function lockOptions(sql: IdentitySql, integrationId: string, productIds: readonly string[]): Promise<void> {
  const { rows } = await sql.query<{ options: string }>(OPTIONS_OF, [integrationId, productIds]);
  await sql.query(LOCK_OPTION_MARKS, [integrationId, rows[0]!.options]);
}

/**
 * Gives the products of `target` (and their options and units) the keys of the products of
 * `source` with the same OCTO ids (only those of `ids`, when given): a re-created integration
 * linked to the one it replaces. `source`'s rows get fresh keys, so a key is never taken twice.
 * Slots stay: they belong to each integration's own supplier account. Returns how many products
 * took a key.
 */
export async function takeKeys(sql: IdentitySql, source: string, target: string, ids?: readonly string[]): Promise<number> {
  const octoIds = ids ?? (await sql.query<{ octo_id: string }>(`SELECT octo_id FROM products WHERE integration_id = $1::uuid`, [target])).rows.map((r) => r.octo_id);
  const { products } = await moveKeys(sql, { source, target, pairs: octoIds.map((id) => ({ from: id, to: id })) });
  return products.length;
}

import { SYSTEM_ACTOR } from '../integrations/integration-events.store';
import { moveIdentity, takeKeys, type IdentitySql, type Remap } from './key-transfer';

/** A product that left beside others that appeared, not matched 1:1: an admin decides. */
export interface RemapCandidate {
  from: string;
  reference: string | null;
  to: string[];
  reason: 'ambiguous' | 'no_reference' | 'taken';
}

/** What a run did about the products that left and appeared in it. */
export interface RekeyOutcome {
  remapped: Remap[];
  candidates: RemapCandidate[];
}

/** A product the run created, as the re-key matching reads it. */
export interface AppearedProduct {
  octo_id: string;
  reference: string | null;
}

/** Candidates listed per product that left: enough for an admin to choose. */
const CANDIDATES_MAX = 20;

// After the run's upserts, before its removals. $1 integration, $2 JSON products created by the
// run {octo_id, reference}, $3 JSON ids of the products it removes. The new catalog is the active
// rows less those removed; the old one the active rows less those created. A pair is matched when
// its reference is non-null and unique in both, and the product that appeared took no key yet (from
// a linked integration, earlier in the run: a move would drop it); every other product that left
// beside products that appeared with the same reference, or without one on either side, is a candidate.
const MATCH = `
WITH appeared AS (SELECT x.octo_id, x.reference, p.key_inherited_at IS NOT NULL AS taken FROM jsonb_to_recordset($2::jsonb) AS x(octo_id text, reference text)
  LEFT JOIN products p ON p.integration_id = $1::uuid AND p.octo_id = x.octo_id),
gone AS (SELECT p.octo_id, p.reference FROM products p JOIN jsonb_array_elements_text($3::jsonb) g(octo_id) ON g.octo_id = p.octo_id
  WHERE p.integration_id = $1::uuid),
live AS (SELECT octo_id, reference FROM products WHERE integration_id = $1::uuid AND active AND reference IN (SELECT reference FROM appeared UNION SELECT reference FROM gone)),
old_refs AS (SELECT reference, count(*) AS n FROM live WHERE octo_id NOT IN (SELECT octo_id FROM appeared) GROUP BY reference),
new_refs AS (SELECT reference, count(*) AS n FROM live WHERE octo_id NOT IN (SELECT octo_id FROM gone) GROUP BY reference),
matched AS (SELECT g.octo_id AS "from", a.octo_id AS "to" FROM gone g JOIN appeared a ON a.reference = g.reference
  JOIN old_refs o ON o.reference = g.reference AND o.n = 1 JOIN new_refs n ON n.reference = g.reference AND n.n = 1
  WHERE NOT a.taken)
SELECT 'match' AS kind, m."from", NULL::text AS reference, ARRAY[m."to"] AS "to", NULL::text AS reason FROM matched m
UNION ALL
SELECT 'candidate', g.octo_id, g.reference, c."to",
  CASE WHEN EXISTS (SELECT 1 FROM appeared a WHERE a.reference = g.reference AND a.taken) THEN 'taken'
    WHEN EXISTS (SELECT 1 FROM appeared a WHERE a.reference = g.reference) THEN 'ambiguous' ELSE 'no_reference' END
FROM gone g CROSS JOIN LATERAL (
  SELECT array_agg(a.octo_id ORDER BY a.octo_id) AS "to" FROM (
    SELECT a.octo_id FROM appeared a WHERE a.octo_id NOT IN (SELECT "to" FROM matched)
      AND (a.reference = g.reference OR a.reference IS NULL OR g.reference IS NULL)
    ORDER BY a.octo_id LIMIT ${CANDIDATES_MAX}) a) c
WHERE g.octo_id NOT IN (SELECT "from" FROM matched) AND c."to" IS NOT NULL`;

// $1 integration, $2 run, $3 JSON candidates: each run's word replaces the previous one's.
const SAVE_CANDIDATES = `
INSERT INTO remap_candidates (integration_id, from_octo_id, reference, to_octo_ids, reason, run_id)
SELECT $1::uuid, c."from", c.reference, ARRAY(SELECT jsonb_array_elements_text(c."to")), c.reason, $2::uuid
FROM jsonb_to_recordset($3::jsonb) AS c("from" text, reference text, "to" jsonb, reason text)
ON CONFLICT (integration_id, from_octo_id) DO UPDATE SET reference = excluded.reference,
  to_octo_ids = excluded.to_octo_ids, reason = excluded.reason, run_id = excluded.run_id, created_at = now()`;

// $1 integration, $2 JSON remaps {from, to, key}: the audit trail of a sync's re-keys.
const AUDIT_REMAPS = `
INSERT INTO integration_events (integration_id, type, actor, details)
SELECT $1::uuid, 'product_remapped', '${SYSTEM_ACTOR}', jsonb_build_object('from', r."from", 'to', r."to", 'key', r.key, 'by', 'sync')
FROM jsonb_to_recordset($2::jsonb) AS r("from" text, "to" text, key text)`;

interface MatchRow {
  kind: 'match' | 'candidate';
  from: string;
  reference: string | null;
  to: string[];
  reason: RemapCandidate['reason'] | null;
}

/**
 * In a catalog run's transaction, after its upserts and before its removals: the products the run
 * created take the keys of the replaced integration's products of the same ids (`run.previous`,
 * when an admin linked one: a link made before the first sync holds for it and for products added
 * later; a link waits for no run, it is refused while one runs, so a run never misses one);
 * then the products that left are matched with those that appeared (1:1 by reference), each
 * match's identity moved in one set of statements, and the rest recorded as remap candidates.
 */
export async function rekeyRun(sql: IdentitySql, run: { id: string; integrationId: string; previous: string | null }, appeared: readonly AppearedProduct[], gone: readonly string[]): Promise<RekeyOutcome> {
  const outcome: RekeyOutcome = { remapped: [], candidates: [] };
  if (appeared.length === 0) return outcome;
  if (run.previous !== null) await takeKeys(sql, run.previous, run.integrationId, appeared.map((p) => p.octo_id));
  if (gone.length === 0) return outcome;
  const { rows } = await sql.query<MatchRow>(MATCH, [run.integrationId, JSON.stringify(appeared), JSON.stringify(gone)]);
  const matches: Array<{ from: string; to: string }> = [];
  for (const row of rows) {
    if (row.kind === 'match') matches.push({ from: row.from, to: row.to[0]! });
    else outcome.candidates.push({ from: row.from, reference: row.reference, to: row.to, reason: row.reason ?? 'ambiguous' });
  }
  outcome.remapped = await moveIdentity(sql, run.integrationId, matches);
  if (outcome.remapped.length > 0) await sql.query(AUDIT_REMAPS, [run.integrationId, JSON.stringify(outcome.remapped)]);
  if (outcome.candidates.length > 0) await sql.query(SAVE_CANDIDATES, [run.integrationId, run.id, JSON.stringify(outcome.candidates)]);
  return outcome;
}

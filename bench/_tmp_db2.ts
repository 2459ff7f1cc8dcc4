import { createDb } from '@octo-sync/db';
import { generateCatalog } from '@octo-sync/testkit';
import { mapCatalog } from '@octo-sync/worker/src/catalog/map-catalog';
import { Client } from 'pg';
import { readFileSync } from 'node:fs';
import { recreateDatabase } from './lib/bench-db';
const src = readFileSync('packages/db/src/catalog.store.ts', 'utf8');
const sql = (name: string) => { const m = new RegExp(`const ${name} = \`([\\s\\S]*?)\`;`).exec(src)!; return m[1]!; };
async function main() {
  const url = await recreateDatabase('octo_sync_bench_tmp');
  const db = createDb({ databaseUrl: url, secretsKey: 'k', poolSize: 2 });
  const cat = generateCatalog({ products: 10000, options: 5, units: 4, seed: 7 });
  const rows = await mapCatalog(JSON.parse(JSON.stringify(cat)));
  const mk = async (p: string) => (await db.integrations.create({ partnerId: p, baseUrl: 'http://x', authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true })).integration.id;
  const c = new Client({ connectionString: url }); await c.connect();
  for (const [label, variant, batch] of [['jsonb', (s: string) => s, 2000], ['json', (s: string) => s.replace(/jsonb_to_recordset\(\$2::jsonb\)/g, 'json_to_recordset($2::json)'), 2000], ['json5k', (s: string) => s.replace(/jsonb_to_recordset\(\$2::jsonb\)/g, 'json_to_recordset($2::json)'), 5000], ['json500', (s: string) => s.replace(/jsonb_to_recordset\(\$2::jsonb\)/g, 'json_to_recordset($2::json)'), 500]] as const) {
    const id = await mk(label);
    const tm: Record<string, number> = {};
    const s = Date.now();
    await c.query('BEGIN');
    for (const [k, list] of [['UPSERT_PRODUCTS', rows.products], ['UPSERT_OPTIONS', rows.options], ['UPSERT_UNITS', rows.units]] as const) {
      const q = variant(sql(k)); let st = 0, ex = 0;
      for (let i = 0; i < list.length; i += batch) { let a = Date.now(); const j = JSON.stringify((list as unknown[]).slice(i, i + batch)); st += Date.now() - a; a = Date.now(); await c.query(q, [id, j]); ex += Date.now() - a; }
      tm[k + '.stringify'] = st; tm[k + '.exec'] = ex;
    }
    await c.query('COMMIT');
    console.log(label, Date.now() - s, JSON.stringify(tm));
  }
  await c.end(); await db.close();
}
main();

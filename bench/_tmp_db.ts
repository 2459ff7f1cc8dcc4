import { createDb } from '@octo-sync/db';
import { generateCatalog } from '@octo-sync/testkit';
import { mapCatalog } from '@octo-sync/worker/src/catalog/map-catalog';
import { Pool } from 'pg';
import { recreateDatabase } from './lib/bench-db';
async function main() {
  const url = await recreateDatabase('octo_sync_bench_tmp');
  const db = createDb({ databaseUrl: url, secretsKey: 'k', poolSize: 2 });
  const cat = generateCatalog({ products: 10000, options: 5, units: 4, seed: 7 });
  const rows = await mapCatalog(JSON.parse(JSON.stringify(cat)));
  const mk = async (p: string) => (await db.integrations.create({ partnerId: p, baseUrl: 'http://x', authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true })).integration.id;
  const changes = { ...rows, removedProducts: [], removedOptions: [], removedUnits: [] };
  const mode = process.argv[2];
  const id = await mk('a');
  let s = Date.now();
  let t = Date.now(); for (let i = 0; i < rows.units.length; i += 2000) JSON.stringify(rows.units.slice(i, i + 2000)); console.log('stringify units', Date.now() - t);
  s = Date.now();
  await db.prisma.$transaction((tx) => db.catalog.write(tx, id, changes), { timeout: 600000 });
  console.log('prisma write', Date.now() - s);
  await db.close();
}
main();

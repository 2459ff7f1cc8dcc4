import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { OctoProduct } from '@octo-sync/octo';
import { CatalogMapper, type CatalogRows } from '@octo-sync/worker/src/catalog/map-catalog';
import { fetchBody, type FleetMember } from './fleet-floor';
import { COPY_TABLES, copyRows } from './references';

const EVENTS_TABLE = `DROP TABLE IF EXISTS bench_copy_events;
CREATE TABLE bench_copy_events (integration_id uuid, type text, product_octo_id text, option_octo_id text, unit_octo_id text, content_hash text)`;

/** One created event per row, as a first sync appends them. */
function* eventLines(integrationId: string, rows: CatalogRows): Generator<string> {
  for (const p of rows.products) yield `${integrationId}\tproduct.created\t${p.octo_id}\t\\N\t\\N\t${p.content_hash}\n`;
  for (const o of rows.options) yield `${integrationId}\toption.created\t${o.product_octo_id}\t${o.octo_id}\t\\N\t${o.content_hash}\n`;
  for (const u of rows.units) yield `${integrationId}\tunit.created\t${u.product_octo_id}\t${u.option_octo_id}\t${u.octo_id}\t${u.content_hash}\n`;
}

/** Every catalog fetched, parsed and mapped into the very rows a sync writes (the worker's own mapper), `concurrency` at a time. */
async function mapFleet(members: readonly FleetMember[], concurrency: number): Promise<CatalogRows[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const mapped: CatalogRows[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < members.length; i = next++) {
      const rows: CatalogRows = { products: [], options: [], units: [] };
      const mapper = new CatalogMapper(true);
      for (const product of JSON.parse((await fetchBody(members[i]!.productsUrl, agent)).toString('utf8')) as OctoProduct[]) mapper.map(product, rows);
      mapped[i] = rows;
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    agent.destroy();
  }
  return mapped;
}

/**
 * The row floor of a fleet sync: the rows every catalog's first sync writes (mapped beforehand,
 * outside the timing: the fleet's parsing and hashing are the workers' CPU, in `cpuMsPerRun`) and
 * one event per row, COPY'd into unindexed tables in one transaction per catalog (a run's write is
 * atomic too), `concurrency` catalogs at a time, with no queue. What a sync must at least cost
 * Postgres. Returns the wall time and the rows written.
 */
export async function fleetRowFloor(pool: Pool, members: readonly FleetMember[], concurrency: number): Promise<{ seconds: number; rows: number }> {
  const mapped = await mapFleet(members, concurrency);
  await pool.query(COPY_TABLES);
  await pool.query(EVENTS_TABLE);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < members.length; i = next++) {
      const { id } = members[i]!;
      const rows = mapped[i]!;
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await copyRows(client, id, rows);
        await pipeline(Readable.from(eventLines(id, rows)), client.query(copyFrom('COPY bench_copy_events FROM STDIN')));
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await pool.query<{ n: number; events: number }>(
    'SELECT ((SELECT count(*) FROM bench_copy_products) + (SELECT count(*) FROM bench_copy_options) + (SELECT count(*) FROM bench_copy_units))::int AS n, (SELECT count(*) FROM bench_copy_events)::int AS events',
  );
  const written = rows[0]!;
  if (written.events !== written.n) throw new Error(`row floor wrote ${written.n} rows but ${written.events} events`);
  await pool.query('DROP TABLE bench_copy_products, bench_copy_options, bench_copy_units, bench_copy_events');
  return { seconds, rows: written.n };
}

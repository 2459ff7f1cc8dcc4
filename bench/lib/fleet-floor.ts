import { createHash } from 'node:crypto';
import { Agent, get } from 'node:http';
import type { Pool } from 'pg';

/** One integration of the fleet: its id and the catalog address it syncs from. */
export interface FleetMember {
  id: string;
  productsUrl: string;
}

export function fetchBody(url: string, agent: Agent): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${url} answered ${res.statusCode}`))));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/**
 * The floor of a fleet sync: every catalog fetched and hashed (SHA-256 of the bytes) by this one
 * process, `concurrency` at a time, with one Postgres round trip each (a one-row insert that
 * commits) and no queue. Returns the wall time in seconds.
 */
export async function fleetFloor(pool: Pool, members: readonly FleetMember[], concurrency: number): Promise<number> {
  await pool.query('CREATE TABLE IF NOT EXISTS bench_fleet_floor (integration_id uuid PRIMARY KEY, digest text NOT NULL)');
  await pool.query('TRUNCATE bench_fleet_floor');
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < members.length; i = next++) {
      const member = members[i]!;
      const digest = createHash('sha256').update(await fetchBody(member.productsUrl, agent)).digest('hex');
      await pool.query('INSERT INTO bench_fleet_floor (integration_id, digest) VALUES ($1, $2)', [member.id, digest]);
    }
  };
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM bench_fleet_floor');
  if (rows[0]?.n !== members.length) throw new Error(`floor stored ${rows[0]?.n} of ${members.length} digests`);
  return seconds;
}

import type { Db } from '@octo-sync/db';
import { round } from './args';
import { cpuSeconds } from './process-cpu';

/* What bench:pull reads around each pull: rows written (by `xmin`), events appended, CPU used. */

/** Each stored slot's row version: a row written since has a new `xmin`. */
export async function rowVersions(db: Db, integrationId: string): Promise<Map<string, string>> {
  const { rows } = await db.pool.query<{ id: string; x: string }>(
    `SELECT product_octo_id || '/' || option_octo_id || '/' || availability_id AS id, xmin::text AS x FROM availability_slots WHERE integration_id = $1::uuid`,
    [integrationId],
  );
  return new Map(rows.map((r) => [r.id, r.x]));
}

/** Change events of the integration so far. */
export async function eventCount(db: Db, integrationId: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM change_events WHERE integration_id = $1::uuid', [integrationId]);
  return rows[0]?.n ?? 0;
}

/** CPU seconds used by the worker, by its Postgres backends, and by the bench's process (the test supplier). */
export interface CpuUse {
  worker: number;
  postgres: number;
  supplier: number;
}

/** CPU used so far by the worker, this process and each Postgres backend of the bench database (`pg:<pid>`). */
export async function cpuSample(db: Db, workerPid: number): Promise<Map<string, number>> {
  const { rows } = await db.pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  return new Map([['worker', cpuSeconds(workerPid)], ['supplier', cpuSeconds(process.pid)], ...rows.map((r) => [`pg:${r.pid}`, cpuSeconds(r.pid)] as const)]);
}

/** What was used between two samples (a backend that ended meanwhile is not counted). */
export function cpuUsed(before: Map<string, number>, after: Map<string, number>): CpuUse {
  const used = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  const postgres = [...after.keys()].filter((key) => key.startsWith('pg:')).reduce((sum, key) => sum + used(key), 0);
  return { worker: round(used('worker'), 2), postgres: round(postgres, 2), supplier: round(used('supplier'), 2) };
}

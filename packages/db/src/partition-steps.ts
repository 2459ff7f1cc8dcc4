import type { Pool, PoolClient } from 'pg';
import { isLockNotGranted } from './sql-errors';

/*
 * The steps every partition maintenance takes (the slots' months, the change feed's id ranges):
 * each DDL runs on a connection of its own, outside any transaction (DETACH CONCURRENTLY needs
 * that), under `lock_timeout`, and a step whose lock was not granted in time is left to the next
 * tick. Postgres allows one pending detach per partitioned table: a DETACH CONCURRENTLY
 * interrupted by its lock timeout stays pending, and any other detach of that table fails (55000)
 * until it is finalized. So old partitions are retired pending ones first, and a pass stops at the
 * first step that did not finish.
 */

/** `attached`; `detaching`: an interrupted DETACH CONCURRENTLY (pending); `detached`: left before its DROP. */
export type PartitionState = 'attached' | 'detaching' | 'detached';

export interface PartitionTable {
  name: string;
  state: PartitionState;
}

export const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

// $1 the parent, $2 the LIKE pattern of its partitions' names: each such table, attached (with a
// pending detach or not) or left detached.
const PARTITIONS = `
SELECT c.relname AS name, CASE WHEN i.inhrelid IS NULL THEN 'detached' WHEN i.inhdetachpending THEN 'detaching' ELSE 'attached' END AS state
FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = $1::regclass
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname LIKE $2`;

/** The tables named `<parent>_p…` in the current schema, with their state. */
export async function partitionTables(pool: Pool, parent: string): Promise<PartitionTable[]> {
  const pattern = `${parent.replace(/_/g, '\\_')}\\_p%`;
  return (await pool.query<PartitionTable>(PARTITIONS, [parent, pattern])).rows;
}

/** Where a step's outcome is recorded: `done` when it finished, `skipped` when its lock was not granted in time. */
export interface StepOutcome {
  done: string[];
  skipped: string[];
}

/**
 * Runs `ddl` as one step (see above); false when its lock timed out, or when `ddl` answered false
 * (it left the partition as it was); either is recorded as skipped. Any other failure is thrown.
 */
export async function partitionStep(pool: Pool, lockTimeoutMs: number, what: string, ddl: (c: PoolClient) => Promise<unknown>, outcome: StepOutcome): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
    const finished = (await ddl(client)) !== false;
    (finished ? outcome.done : outcome.skipped).push(what);
    return finished;
  } catch (err) {
    if (!isLockNotGranted(err)) throw err;
    outcome.skipped.push(what);
    return false;
  } finally {
    await client.query('RESET lock_timeout').finally(() => client.release());
  }
}

/** Finishes a pending detach, or starts one concurrently; nothing for a table already detached. */
export async function detach(c: PoolClient, parent: string, p: PartitionTable): Promise<void> {
  if (p.state === 'detached') return;
  await c.query(`ALTER TABLE ${quoted(parent)} DETACH PARTITION ${quoted(p.name)} ${p.state === 'detaching' ? 'FINALIZE' : 'CONCURRENTLY'}`);
}

/**
 * Retires `old` one step each, a pending detach first (then in `order`), and stops at the first
 * step that did not finish: a detach left pending would make every later one fail.
 */
export async function retireInOrder<T extends PartitionTable>(old: readonly T[], order: (a: T, b: T) => number, step: (p: T) => Promise<boolean>): Promise<void> {
  const pendingFirst = (a: T, b: T) => Number(b.state === 'detaching') - Number(a.state === 'detaching') || order(a, b);
  for (const p of [...old].sort(pendingFirst)) {
    if (!(await step(p))) return;
  }
}

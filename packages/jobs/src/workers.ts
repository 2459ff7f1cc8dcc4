import { z } from 'zod';
import type { RedisConnection } from './redis';

/** One worker process as it announces itself. */
export const workerPresenceSchema = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  /** When the worker last wrote its heartbeat (its own clock), ISO 8601. */
  lastSeen: z.string(),
});
export type WorkerPresence = z.infer<typeof workerPresenceSchema>;

/**
 * Where worker heartbeats live: one key per worker, `<prefix>:workers:<id>`, that expires unless
 * renewed, plus the set `<prefix>:workers` of ids, so readers never SCAN the keyspace. With a
 * hash-tag prefix (`{octo-sync}`, Redis Cluster) every one of these keys shares the prefix's own
 * slot, so the MULTI and MGET below stay in one slot.
 */
export function workerKeys(prefix: string): { index: string; worker: (id: string) => string } {
  return { index: `${prefix}:workers`, worker: (id) => `${prefix}:workers:${id}` };
}

/** Writes (or renews) a worker's heartbeat; it lapses after `ttlMs` unless written again. */
export async function announceWorker(redis: RedisConnection, prefix: string, presence: WorkerPresence, ttlMs: number): Promise<void> {
  const keys = workerKeys(prefix);
  await redis.multi().set(keys.worker(presence.id), JSON.stringify(presence), 'PX', ttlMs).sadd(keys.index, presence.id).exec();
}

/** Removes a worker's heartbeat at once (a clean shutdown). */
export async function withdrawWorker(redis: RedisConnection, prefix: string, id: string): Promise<void> {
  const keys = workerKeys(prefix);
  await redis.multi().del(keys.worker(id)).srem(keys.index, id).exec();
}

/**
 * The workers whose heartbeat has not lapsed, oldest start first. Ids whose key expired (a worker
 * that died without withdrawing) are pruned from the index on the way.
 */
export async function listWorkers(redis: RedisConnection, prefix: string): Promise<WorkerPresence[]> {
  const keys = workerKeys(prefix);
  const ids = await redis.smembers(keys.index);
  if (ids.length === 0) return [];
  const values = await redis.mget(...ids.map((id) => keys.worker(id)));
  const alive: WorkerPresence[] = [];
  const lapsed: string[] = [];
  values.forEach((value, i) => {
    const presence = parsePresence(value);
    if (presence !== undefined) alive.push(presence);
    else lapsed.push(ids[i]!);
  });
  if (lapsed.length > 0) await redis.srem(keys.index, ...lapsed);
  return alive.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

function parsePresence(value: string | null): WorkerPresence | undefined {
  if (value === null) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return undefined; // not written by announceWorker: treated as lapsed
  }
  const parsed = workerPresenceSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

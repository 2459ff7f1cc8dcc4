import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { announceWorker, withdrawWorker, type WorkerPresence, type RedisConnection } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';

/** A running heartbeat; `stop` ends it and removes the worker's key. */
export interface Heartbeat {
  id: string;
  stop(): Promise<void>;
}

/** Heartbeats lapse after three missed beats: one slow write never makes a live worker vanish. */
const MISSED_BEATS = 3;

/** How long a shutdown waits to withdraw the heartbeat before going on without it. */
const WITHDRAW_WAIT_MS = 1_000;

/**
 * Announces this worker process in Redis every `intervalMs` (id, host, pid, start and last beat),
 * so gateways can say how many workers are alive. The first beat is written before this resolves.
 */
export async function startHeartbeat(redis: RedisConnection, prefix: string, intervalMs: number, log: Logger): Promise<Heartbeat> {
  const startedAt = new Date().toISOString();
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const presence = (): WorkerPresence => ({ id, host: hostname(), pid: process.pid, startedAt, lastSeen: new Date().toISOString() });
  const beat = () => announceWorker(redis, prefix, presence(), intervalMs * MISSED_BEATS);
  await beat();
  const timer = setInterval(() => {
    beat().catch((err: unknown) => log.warn({ err, workerId: id }, 'worker heartbeat not written'));
  }, intervalMs);
  timer.unref();
  return {
    id,
    stop: async () => {
      clearInterval(timer);
      // Bounded: with Redis away the command would wait for it, and shutdown must not. The key
      // lapses by itself after three beats anyway.
      const withdrawn = withdrawWorker(redis, prefix, id).catch((err: unknown) => log.warn({ err, workerId: id }, 'worker heartbeat not withdrawn; it lapses'));
      await Promise.race([withdrawn, sleep(WITHDRAW_WAIT_MS, undefined, { ref: false })]);
    },
  };
}

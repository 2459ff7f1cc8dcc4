import { Redis } from 'ioredis';

/**
 * `producer`: for processes that enqueue and wait for results (the gateway). With Redis away a
 * command fails at once (no offline queue), so an HTTP request answers 503 instead of hanging.
 * `worker`: queues commands while reconnecting, as BullMQ workers expect.
 * Both set `maxRetriesPerRequest: null`, which BullMQ requires of the blocking connections it
 * duplicates from them (workers, and the QueueEvents a producer waits with).
 */
export type RedisRole = 'producer' | 'worker';

export function createRedis(url: string, role: RedisRole): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableOfflineQueue: role === 'worker',
    connectionName: `octo-sync:${role}`,
  });
}

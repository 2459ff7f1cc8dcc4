import { Redis } from 'ioredis';

/**
 * `producer`: fails commands fast when Redis is away, so an HTTP request answers 503 instead of
 * hanging. `worker`: BullMQ's blocking connections require `maxRetriesPerRequest: null`.
 */
export type RedisRole = 'producer' | 'worker';

export function createRedis(url: string, role: RedisRole): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    connectionName: `octo-sync:${role}`,
  });
}

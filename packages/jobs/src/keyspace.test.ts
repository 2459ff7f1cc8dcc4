import { queueKeyPrefix, shardedKey } from './keyspace';
import { redisProblems } from './redis';

describe('keyspace', () => {
  test('a hash-tag prefix gives each queue a tag of its own; a plain prefix is kept as it is', () => {
    expect(queueKeyPrefix('{octo-sync}', 'catalog')).toBe('{octo-sync:catalog}');
    expect(queueKeyPrefix('{octo-sync}', 'availability')).toBe('{octo-sync:availability}');
    expect(queueKeyPrefix('octo-sync', 'catalog')).toBe('octo-sync');
  });

  test('per-integration keys take the integration as their only tag, never the prefix', () => {
    expect(shardedKey('{octo-sync}', 'webhook-replay', 'int-1', 'abc')).toBe('octo-sync:webhook-replay:{int-1}:abc');
    expect(shardedKey('{octo-sync}', 'gateway:rate:notify', 'int-1')).toBe('octo-sync:gateway:rate:notify:{int-1}');
    // Unchanged layout on a single Redis.
    expect(shardedKey('octo-sync', 'webhook-replay', 'int-1', 'abc')).toBe('octo-sync:webhook-replay:{int-1}:abc');
  });
});

describe('redisProblems', () => {
  test('a cluster refuses a prefix that is not a hash tag, and says why', () => {
    const [[variable, message]] = redisProblems(['127.0.0.1:7000'], 'octo-sync') as [[string, string]];
    expect(variable).toBe('QUEUE_PREFIX');
    expect(message).toMatch(/hash tag such as \{octo-sync\}.*one slot/);
    expect(redisProblems(['127.0.0.1:7000'], 'x{octo-sync}')).toHaveLength(1);
    expect(redisProblems(['127.0.0.1:7000', '[::1]:7001', 'redis-0.internal:6379'], '{octo-sync}')).toEqual([]);
    expect(redisProblems([], 'octo-sync')).toEqual([]);
  });

  test('names each bad seed node by position, never echoing it', () => {
    expect(redisProblems(['127.0.0.1', 'secret-host:99999', 'ok:1'], '{octo-sync}')).toEqual([
      ['REDIS_CLUSTER_NODES', 'entry 1 is not host:port'],
      ['REDIS_CLUSTER_NODES', 'entry 2 is not host:port'],
    ]);
  });
});

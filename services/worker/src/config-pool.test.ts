import { ConfigError } from '@octo-sync/platform';
import { loadWorkerConfig } from './config';

/** A catalog run holds two pooled connections: more runs than the pool has connections can deadlock it. */
describe('worker config: WORKER_CONCURRENCY against DB_POOL_SIZE', () => {
  const problems = (source: Record<string, string>): string[] => {
    try {
      loadWorkerConfig(source);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return [...err.details];
    }
  };

  test('the defaults start (8 catalog runs on a pool of 10)', () => {
    expect(loadWorkerConfig({}).sync.concurrency).toBe(8);
    expect(loadWorkerConfig({}).dbPoolSize).toBe(10);
  });

  test('a concurrency below the pool size starts', () => {
    expect(loadWorkerConfig({ WORKER_CONCURRENCY: '9', DB_POOL_SIZE: '10' })).toMatchObject({ sync: { concurrency: 9 }, dbPoolSize: 10 });
    expect(loadWorkerConfig({ WORKER_CONCURRENCY: '1', DB_POOL_SIZE: '2' })).toMatchObject({ sync: { concurrency: 1 }, dbPoolSize: 2 });
  });

  test.each([
    ['equal to', { WORKER_CONCURRENCY: '10', DB_POOL_SIZE: '10' }],
    ['above', { WORKER_CONCURRENCY: '12' }],
    ['equal to (one each)', { WORKER_CONCURRENCY: '1', DB_POOL_SIZE: '1' }],
  ])('a concurrency %s the pool size is refused, naming both variables and no value', (_, source) => {
    const found = problems(source);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^WORKER_CONCURRENCY: .*DB_POOL_SIZE/);
    expect(found[0]).not.toMatch(/\d/);
  });

  test('availability and pull concurrency do not count', () => {
    expect(() => loadWorkerConfig({ DB_POOL_SIZE: '9', AVAILABILITY_CONCURRENCY: '200', PULL_CONCURRENCY: '20' })).not.toThrow();
  });
});

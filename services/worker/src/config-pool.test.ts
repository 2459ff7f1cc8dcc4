import { poolContention } from '@octo-sync/db';
import { loadWorkerConfig } from './config';

/**
 * No code path waits for a second pooled connection while it holds one, so no concurrency can
 * deadlock the pool: the worker starts at any WORKER_CONCURRENCY, and start-up only warns when its
 * runs outnumber the pool's connections (they then wait for one).
 */
describe('worker config: WORKER_CONCURRENCY against DB_POOL_SIZE', () => {
  test('the defaults start (8 catalog runs on a pool of 10)', () => {
    expect(loadWorkerConfig({}).sync.concurrency).toBe(8);
    expect(loadWorkerConfig({}).dbPoolSize).toBe(10);
  });

  test.each([
    ['below', { WORKER_CONCURRENCY: '9', DB_POOL_SIZE: '10' }],
    ['equal to', { WORKER_CONCURRENCY: '10', DB_POOL_SIZE: '10' }],
    ['equal to (one each)', { WORKER_CONCURRENCY: '1', DB_POOL_SIZE: '1' }],
    ['above', { WORKER_CONCURRENCY: '12' }],
  ])('a catalog concurrency %s the pool size starts', (_, source) => {
    const config = loadWorkerConfig(source);
    expect(config.sync.concurrency).toBe(Number(source.WORKER_CONCURRENCY));
  });

  test('start-up warns only when catalog runs and pulls together outnumber the connections, naming the variables and no value', () => {
    const runs = (source: Record<string, string>) => {
      const config = loadWorkerConfig(source);
      return poolContention({ runs: config.sync.concurrency + config.pull.concurrency, poolSize: config.dbPoolSize });
    };
    expect(runs({})).toBeNull();
    expect(runs({ WORKER_CONCURRENCY: '8', PULL_CONCURRENCY: '2', DB_POOL_SIZE: '10' })).toBeNull();
    const warning = runs({ WORKER_CONCURRENCY: '9', PULL_CONCURRENCY: '2', DB_POOL_SIZE: '10' });
    expect(warning).toMatch(/WORKER_CONCURRENCY \+ PULL_CONCURRENCY .*DB_POOL_SIZE/);
    expect(warning).not.toMatch(/\d/);
    expect(runs({ DB_POOL_SIZE: '10', AVAILABILITY_CONCURRENCY: '2000' })).toBeNull();
  });
});

import { QueueEvents } from 'bullmq';
import { catalogSyncJobId, createRedis, type SyncProgress } from '@octo-sync/jobs';
import { generateCatalog, TEST_REDIS_URL, waitFor } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/**
 * A running sync reports its progress in its BullMQ job (where the gateway reads it), throttled:
 * with an interval longer than the run, only the first byte count and the moment the body is in
 * are written, whatever the number of chunks and slices.
 */
describe('catalog.sync: progress', () => {
  let h: Harness;
  let events: QueueEvents;
  let redis: ReturnType<typeof createRedis>;
  const seen = new Map<string, unknown[]>();

  beforeAll(async () => {
    h = await startHarness({ SYNC_PROGRESS_INTERVAL_MS: '600000' });
    redis = createRedis(TEST_REDIS_URL, 'worker');
    events = new QueueEvents('catalog', { connection: redis, prefix: h.env.QUEUE_PREFIX! });
    events.on('progress', ({ jobId, data }) => seen.set(jobId, [...(seen.get(jobId) ?? []), data]));
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await events.close();
    redis.disconnect();
    await h.close();
  });

  test('bytes received of the declared length, then products of the catalog, at most once per interval', async () => {
    const catalog = generateCatalog({ products: 2_500, options: 2, units: 2, seed: 14 });
    h.supplier.setCatalog(catalog);
    const bytes = Buffer.byteLength(JSON.stringify(catalog));
    const integrationId = await h.createIntegration();

    const { runId, finished } = await h.enqueueRun(integrationId);
    expect((await finished).status).toBe('succeeded');
    const reported = () => (seen.get(catalogSyncJobId(runId)) ?? []) as SyncProgress[];
    await waitFor('two progress events', () => reported().length >= 2);

    const [first, bodyIn, ...more] = reported();
    expect(first).toEqual({ bytes_received: expect.any(Number), bytes_expected: bytes, products_processed: 0, products_total: null });
    expect(first!.bytes_received).toBeGreaterThan(0);
    expect(first!.bytes_received).toBeLessThan(bytes);
    expect(bodyIn).toEqual({ bytes_received: bytes, bytes_expected: bytes, products_processed: 0, products_total: 2_500 });
    expect(more).toEqual([]);
  });
});

import { createRedis, QUEUES, serversOf, type RedisConnection } from '@octo-sync/jobs';
import {
  generateCatalog,
  slotStart,
  startRedisCluster,
  startStack,
  startTestSupplier,
  waitFor,
  waitForFinishedRun,
  type ServiceProcess,
  type TestRedisCluster,
  type TestStack,
  type TestSupplier,
} from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';
const TICK_MS = 2_000;

/** A key's hash tag as Redis Cluster reads it: what lies between its first `{` and the next `}`. */
function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/**
 * The gateway and two workers on a real Redis Cluster of three masters: they sync, apply
 * notifies, coalesce triggers and run the nightly schedule exactly once per tick, with each queue
 * in a slot of its own and the per-integration keys in their integration's slot.
 */
describe('on a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let stack: TestStack;
  /** The hand-triggered integration's own supplier: the nightly syncs never reach it. */
  let supplier: TestSupplier;
  let redis: RedisConnection;
  let url: string;
  const workers: ServiceProcess[] = [];
  const catalog = generateCatalog({ products: 4, options: 1, units: 1, seed: 12 });
  /** Triggered by hand; DOWN, so the nightly fan-out leaves it alone. */
  let manual: { id: string; secret: string };
  const nightly: string[] = [];

  async function create(partnerId: string, baseUrl: string) {
    const { integration, webhookSecret } = await stack.db.integrations.create({ partnerId, baseUrl, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
    return { id: integration.id, secret: webhookSecret };
  }
  const trigger = (respondAsync = false) =>
    fetch(`${url}${BASE}/${manual.id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': manual.secret, ...(respondAsync ? { Prefer: 'respond-async' } : {}) } });

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    stack = await startStack('e2e-cluster', {
      catalog,
      redisCluster: cluster,
      env: { SCHEDULES_ENABLED: 'true', NIGHTLY_SYNC_CRON: '*/2 * * * * *', NIGHTLY_SYNC_SPREAD_MS: '0', HEALTH_PROBE_CRON: '0 0 1 1 *', SYNC_BUSY_RETRY_MS: '50' },
    });
    redis = createRedis({ url: 'redis://127.0.0.1:6379', clusterNodes: cluster.nodes }, 'worker');
    supplier = await startTestSupplier({ catalog });
    manual = await create('cluster-manual', supplier.url);
    await stack.db.prisma.integration.update({ where: { id: manual.id }, data: { healthStatus: 'DOWN', consecutiveFailures: 3, downSince: new Date() } });
    for (const partner of ['cluster-nightly-1', 'cluster-nightly-2']) nightly.push((await create(partner, stack.supplier.url)).id);
    const hosts = { OCTO_ALLOWED_HOSTS: `${stack.supplier.hostPort},${supplier.hostPort}` };
    const [gateway, ...started] = await Promise.all([stack.start('gateway', hosts), stack.start('worker', hosts), stack.start('worker', hosts)]);
    workers.push(...started);
    url = await stack.gatewayUrl(gateway);
    await waitFor('the gateway to see both workers', async () => {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { status: string; workers: number };
      return ready.status === 'ok' && ready.workers === 2;
    });
  }, 120_000);

  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
    await supplier?.close();
    await cluster?.close();
  });

  it('syncs a triggered catalog and applies a notify', async () => {
    const synced = await trigger();
    expect(synced.status).toBe(200);
    expect(await synced.json()).toMatchObject({ success: 1, data: { synced: catalog.length, skipped: false } });

    const product = catalog[0]!;
    const change = { productId: product.id, optionId: product.options[0]!.id, availabilityId: 'slot-1', localDateTimeStart: slotStart(30, '10:00', '+01:00'), status: 'AVAILABLE', vacancies: 3, capacity: 9, sequence: 1 };
    const notified = await fetch(`${url}${BASE}/${manual.id}/availability/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': manual.secret },
      body: JSON.stringify(change),
    });
    expect({ status: notified.status, body: await notified.json() }).toEqual({ status: 200, body: { success: 1, data: { updated: true } } });
    expect(await stack.db.prisma.availabilitySlot.findFirst({ where: { integrationId: manual.id, availabilityId: 'slot-1' } })).toMatchObject({ vacancies: 3, capacity: 9 });
  });

  it('coalesces the triggers that arrive during a run into one follow-up run', async () => {
    supplier.setCatalog(generateCatalog({ products: 5, options: 1, units: 1, seed: 13 }));
    const hold = supplier.hold();
    const seen = supplier.requests.length;
    const first = (await (await trigger(true)).json()) as { data: { run_id: string } };
    await supplier.waitForRequests(seen + 1, 30_000);
    const burst = await Promise.all(Array.from({ length: 10 }, async () => ((await (await trigger(true)).json()) as { data: { run_id: string } }).data.run_id));
    expect(new Set(burst).size).toBe(1);
    expect(burst[0]).not.toBe(first.data.run_id);
    hold.release();
    expect(await waitForFinishedRun(stack.db, first.data.run_id)).toMatchObject({ status: 'succeeded' });
    expect(await waitForFinishedRun(stack.db, burst[0]!)).toMatchObject({ status: 'skipped' });
    const runs = await stack.db.prisma.syncRun.count({ where: { integrationId: manual.id } });
    expect(runs).toBe(3);
  });

  it('runs exactly one nightly fan-out per tick, which syncs each eligible integration once', async () => {
    const fanouts = () => workers.flatMap((w) => w.lines).filter((l) => l.msg === 'nightly fan-out done');
    const ticks = await waitFor('four nightly ticks', () => {
      const seen = [...new Set(fanouts().map((l) => Date.parse(String(l.tick))))].sort((a, b) => a - b);
      return seen.length >= 4 ? seen : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    // The last one may still be syncing: judge the first three.
    for (const tick of ticks.slice(0, 3)) {
      const done = fanouts().filter((l) => Date.parse(String(l.tick)) === tick);
      expect(done).toHaveLength(1);
      expect(done[0]).toMatchObject({ eligible: nightly.length });
      const taken = workers.flatMap((w) => w.lines).filter((l) => l.msg === 'job picked up' && l.jobId === `repeat:catalog-nightly:${tick}`);
      expect(taken).toHaveLength(1);
      const { requested, joined, covered } = done[0] as unknown as { requested: number; joined: number; covered: number };
      expect(requested + covered).toBe(nightly.length);
      const runs = await stack.db.prisma.syncRun.findMany({ where: { trigger: 'schedule', scheduleTick: new Date(tick) } });
      expect(runs).toHaveLength(requested - joined);
      expect(new Set(runs.map((r) => r.integrationId)).size).toBe(runs.length);
      expect(nightly).toEqual(expect.arrayContaining(runs.map((r) => r.integrationId)));
    }
    expect(ticks[1]! - ticks[0]!).toBe(TICK_MS);
    expect(await stack.db.prisma.syncRun.count({ where: { integrationId: manual.id, trigger: 'schedule' } })).toBe(0);
  });

  it('keeps each queue in a slot of its own, spread over the masters, and integration keys in their integration slot', async () => {
    const masterOf = new Map<string, string>();
    const tags = new Set<string>();
    for (const [i, server] of serversOf(redis).entries()) {
      for (const key of await server.keys('*')) {
        const tag = hashTag(key);
        expect({ key, tagged: tag !== undefined }).toEqual({ key, tagged: true });
        // Admission control's tallies are the whole fleet's, one per time bucket: tagged by it.
        if (key.includes(':gateway:admission:')) {
          expect(tag).toMatch(/^\d+$/);
          continue;
        }
        tags.add(tag!);
        masterOf.set(tag!, String(i));
      }
    }
    const queueTags = Object.keys(QUEUES).map((queue) => `octo-sync:${queue}`);
    const expected = new Set([...queueTags, 'octo-sync', manual.id, ...nightly, '127.0.0.1', '::ffff:127.0.0.1']);
    expect([...tags].filter((tag) => !expected.has(tag))).toEqual([]);
    for (const queue of ['catalog', 'availability', 'schedules']) expect(tags).toContain(`octo-sync:${queue}`);
    expect(tags).toContain(manual.id);
    const queueMasters = new Set(queueTags.filter((t) => masterOf.has(t)).map((t) => masterOf.get(t)));
    expect(queueMasters.size).toBeGreaterThanOrEqual(2);
  });
});

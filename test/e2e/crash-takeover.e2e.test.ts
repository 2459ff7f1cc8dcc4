import { isDeepStrictEqual } from 'node:util';
import { catalogSyncJobId, createRedis, queueKeyPrefix } from '@octo-sync/jobs';
import { generateCatalog, startStack, TEST_REDIS_URL, waitFor, type ServiceProcess, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';
const PRODUCTS = 2_000;
const OPTIONS = 2;
const UNITS = 3;

/**
 * A worker SIGKILLed in the middle of a run, with the worker's default lock settings (no test
 * overrides): the other worker takes the same run over once BullMQ sees the job stalled, and the
 * catalog is written once, whole. The time from the kill to the finished run is printed for the
 * README; it is not asserted (tests never assert timing).
 */
describe('crash takeover with the default lock settings', () => {
  let stack: TestStack;
  let url: string;
  let workers: ServiceProcess[];
  const catalog = generateCatalog({ products: PRODUCTS, options: OPTIONS, units: UNITS, seed: 21 });

  beforeAll(async () => {
    stack = await startStack('takeover', { catalog });
    const [gateway, ...started] = await Promise.all([stack.start('gateway'), stack.start('worker'), stack.start('worker')]);
    workers = started;
    url = await stack.gatewayUrl(gateway);
    await waitFor('the gateway to see both workers', async () => {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { status: string; workers: number };
      return ready.status === 'ok' && ready.workers === 2;
    });
  }, 120_000);
  afterAll(() => stack.close());

  it('hands the run of a killed worker to the other one, which writes the catalog once', async () => {
    const { db, supplier } = stack;
    const { integration, webhookSecret } = await db.integrations.create({
      partnerId: 'takeover-partner', baseUrl: supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });

    // The first fetch is held open: the run is certainly in flight when its worker dies.
    const hold = supplier.hold();
    const seen = supplier.requests.length;
    const triggered = await fetch(`${url}${BASE}/${integration.id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': webhookSecret, Prefer: 'respond-async' } });
    expect(triggered.status).toBe(202);
    const runId = ((await triggered.json()) as { data: { run_id: string } }).data.run_id;
    await supplier.waitForRequests(seen + 1, 60_000);

    const pickedUp = (line: Record<string, unknown>) => line.msg === 'job picked up' && line.jobId === catalogSyncJobId(runId);
    // Its log line may reach us after its request reached the supplier: wait for it.
    const holder = await Promise.race(workers.map(async (w) => (await w.waitForLog(pickedUp, 60_000), w)));
    const survivor = workers.find((w) => w !== holder);
    if (survivor === undefined) throw new Error('both workers are the same process');
    expect(survivor.lines.some(pickedUp)).toBe(false);
    expect(await db.runs.findRun(runId)).toMatchObject({ status: 'running', attempts: 1 });

    const killedAt = Date.now();
    holder.kill('SIGKILL');
    expect(await holder.exited).toMatchObject({ signal: 'SIGKILL' });
    hold.release();

    // The lock lapses (15-30 s after the kill), then a stalled-job check (every 15 s, by whichever
    // worker gets there first) hands the job back: wait well past both.
    const takenOver = await survivor.waitForLog(pickedUp, 180_000);
    const done = await waitFor('the run to be finished by the surviving worker', async () => {
      const run = await db.runs.findRun(runId);
      return run && run.status !== 'running' && run.status !== 'queued' ? run : undefined;
    }, { timeoutMs: 300_000, intervalMs: 100 });
    const seconds = (at: number) => ((at - killedAt) / 1000).toFixed(1);
    console.log(
      `crash takeover (default locks): kill → job found stalled ${seconds(await stalledAt(catalogSyncJobId(runId)))} s, ` +
        `kill → picked up by the other worker ${seconds(Date.parse(String(takenOver.time)))} s, ` +
        `kill → run succeeded ${seconds(done.finishedAt!.getTime())} s (${PRODUCTS} products, ${done.payloadBytes} bytes)`,
    );

    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, errorCode: null, errorMessage: null });
    expect(done.counts).toMatchObject({ products: { created: PRODUCTS, updated: 0, removed: 0 } });
    expect(await db.prisma.syncRun.count({ where: { integrationId: integration.id } })).toBe(1);
    await expectCatalogWrittenOnce(integration.id);
  }, 600_000);

  /** When BullMQ's stalled-job check handed the job back (the time in its event's stream id). */
  async function stalledAt(jobId: string): Promise<number> {
    const redis = createRedis(TEST_REDIS_URL, 'worker');
    try {
      const events = await redis.xrange(`${queueKeyPrefix(stack.prefix, 'catalog')}:catalog:events`, '-', '+');
      const stalled = events.find(([, fields]) => fields.join(' ').includes(`event stalled jobId ${jobId}`));
      return stalled === undefined ? Number.NaN : Number(stalled[0].split('-')[0]);
    } finally {
      redis.disconnect();
    }
  }

  /** Every product stored as the supplier sent it, every row once, one creation event per entity. */
  async function expectCatalogWrittenOnce(integrationId: string): Promise<void> {
    const { prisma } = stack.db;
    const stored = await prisma.product.findMany({ where: { integrationId }, select: { octoId: true, raw: true, active: true } });
    expect(stored).toHaveLength(PRODUCTS);
    // A product row keeps the product as sent, less its options (which have rows of their own).
    const sent = new Map(catalog.map(({ options: _options, ...product }) => [product.id, product]));
    expect(stored.filter((p) => !p.active || !isDeepStrictEqual(p.raw, sent.get(p.octoId))).map((p) => p.octoId)).toEqual([]);
    expect(await prisma.productOption.count({ where: { active: true, product: { integrationId } } })).toBe(PRODUCTS * OPTIONS);
    expect(await prisma.unit.count({ where: { active: true, option: { active: true, product: { integrationId } } } })).toBe(PRODUCTS * OPTIONS * UNITS);
    const events = await prisma.changeEvent.groupBy({ by: ['type'], where: { integrationId }, _count: { _all: true } });
    const created = events.find((e) => e.type === 'product.created');
    expect(created?._count._all).toBe(PRODUCTS);
    expect(events.filter((e) => e.type.startsWith('product.')).map((e) => e.type)).toEqual(['product.created']);
  }
});

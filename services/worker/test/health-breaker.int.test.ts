import { healthFanoutJob } from '@octo-sync/jobs';
import { waitFor } from '@octo-sync/testkit';
import type { HealthTickReport } from '../src/health/health-fanout.handler';
import { startHarness, type Harness } from './harness';

/**
 * A tick's probes are collected, then applied together: when most of them fail at once, the fault
 * is taken to be ours and nobody changes state; and a probe reads status and headers only.
 */
describe('health ticks', () => {
  let h: Harness;
  let tick = Date.now();

  beforeAll(async () => {
    h = await startHarness({ HEALTH_DOWN_AFTER: '3', HEALTH_PROBE_TIMEOUT_MS: '5000', HEALTH_OUTAGE_MIN: '5', HEALTH_OUTAGE_RATIO: '0.5' });
  });
  afterEach(() => h.supplier.behave(null));
  afterAll(() => h.close());

  async function runTick(): Promise<HealthTickReport> {
    const job = await h.producer.enqueue(healthFanoutJob, {}, { jobId: `repeat:breaker-test:${tick++}` });
    const outcome = await h.producer.waitFor<HealthTickReport>(job, 30_000);
    if (outcome.state !== 'completed') throw new Error(`tick did not complete: ${JSON.stringify(outcome)}`);
    return outcome.value;
  }

  /** New integrations, the only ones the next ticks probe. */
  async function only(baseUrls: string[]): Promise<string[]> {
    const ids = await Promise.all(baseUrls.map((baseUrl) => h.createIntegration({ baseUrl })));
    await h.db.prisma.integration.updateMany({ where: { id: { notIn: ids } }, data: { isActive: false } });
    return ids;
  }
  const states = async (ids: string[]) =>
    (await h.db.prisma.integration.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } })).map((i) => ({
      id: i.id,
      healthStatus: i.healthStatus,
      consecutiveFailures: i.consecutiveFailures,
      lastProbeAt: i.lastProbeAt,
    }));

  it('6 integrations all failing in one tick: a suspected local outage, nobody changes state', async () => {
    const ids = await only(Array.from({ length: 6 }, () => h.supplier.url));
    const before = await states(ids);
    h.supplier.behave({ kind: 'status', status: 503 });

    const report = await runTick();
    expect(report).toMatchObject({ probes: 6, probed: 6, failed: 6, unfinished: 0, suspectedLocalOutage: true, changed: 0 });
    expect(await states(ids)).toEqual(before);
    expect(before.every((s) => s.healthStatus === 'HEALTHY' && s.lastProbeAt === null)).toBe(true);
  });

  it('1 of 6 failing: that one DEGRADED, the others HEALTHY', async () => {
    // Not in OCTO_ALLOWED_HOSTS: its probe fails without reaching anything.
    const ids = await only([...Array.from({ length: 5 }, () => h.supplier.url), 'http://127.0.0.1:9']);
    expect(await runTick()).toMatchObject({ probes: 6, probed: 6, failed: 1, suspectedLocalOutage: false, changed: 1 });
    const after = await states(ids);
    expect(after.find((s) => s.id === ids[5])).toMatchObject({ healthStatus: 'DEGRADED', consecutiveFailures: 1 });
    expect(after.filter((s) => s.healthStatus === 'HEALTHY' && s.lastProbeAt !== null)).toHaveLength(5);
  });

  it('a probe of a supplier serving a huge catalog reads the headers only and closes the connection', async () => {
    const [id] = await only([`${h.supplier.url}/huge`]);
    const size = 48 * 1024 * 1024; // under OCTO_MAX_BODY_BYTES: a full download would succeed too
    h.supplier.behave({ kind: 'oversized', bytes: size, withContentLength: true });

    expect(await runTick()).toMatchObject({ probes: 1, probed: 1, failed: 0 });
    expect(await h.db.integrations.findById(id!)).toMatchObject({ healthStatus: 'HEALTHY' });
    const request = await waitFor('the supplier to see its answer closed', () => {
      const seen = h.supplier.requests.find((r) => r.path === '/huge/products');
      return seen?.completed === undefined ? undefined : seen;
    });
    // Closed before the whole body was sent (how many bytes made it depends on socket buffers).
    expect(request.completed).toBe(false);
  });
});

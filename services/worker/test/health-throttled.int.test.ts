import { healthFanoutJob } from '@octo-sync/jobs';
import { generateCatalog } from '@octo-sync/testkit';
import type { HealthTickReport } from '../src/health/health-fanout.handler';
import { startHarness, type Harness } from './harness';

/**
 * A supplier that throttles us says nothing about whether it is up: a probe that meets a
 * throttling answer, or a budget held by an earlier one, is "not probed", never a failure, so a
 * supplier that throttles for many ticks never goes DEGRADED, let alone DOWN.
 */
describe('health probes of a throttling supplier', () => {
  let h: Harness;
  let tick = Date.now();

  beforeAll(async () => {
    h = await startHarness({ HEALTH_DOWN_AFTER: '1', HEALTH_PROBE_TIMEOUT_MS: '2000' });
    h.supplier.setCatalog(generateCatalog({ products: 2, options: 1, units: 1, seed: 22 }));
  });
  afterEach(() => h.supplier.behave(null));
  afterAll(() => h.close());

  async function runTick(): Promise<HealthTickReport> {
    const job = await h.producer.enqueue(healthFanoutJob, {}, { jobId: `repeat:health-throttled:${tick++}` });
    const outcome = await h.producer.waitFor<HealthTickReport>(job, 30_000);
    if (outcome.state !== 'completed') throw new Error(`tick did not complete: ${JSON.stringify(outcome)}`);
    return outcome.value;
  }

  it('counts a throttled probe, and the probes the held budget keeps back, as not probed', async () => {
    const id = await h.createIntegration();
    await h.db.prisma.integration.updateMany({ where: { id: { not: id } }, data: { isActive: false } });
    h.supplier.behave({ kind: 'status', status: 429, headers: { 'retry-after': '600' } });
    const seen = h.supplier.requests.length;
    // The first probe meets the 429; the next ticks find the budget held and do not call at all.
    for (let i = 0; i < 3; i++) expect(await runTick()).toMatchObject({ probes: 1, probed: 0, failed: 0, changed: 0 });
    expect(h.supplier.requests.length - seen).toBe(1);
    expect(await h.db.integrations.findById(id)).toMatchObject({ healthStatus: 'HEALTHY', consecutiveFailures: 0 });
  });

  it('counts a bare 503 (no Retry-After) as a failure: a load balancer with no healthy target is an outage, not throttling', async () => {
    const id = await h.createIntegration();
    await h.db.prisma.integration.updateMany({ where: { id: { not: id } }, data: { isActive: false } });
    h.supplier.behave({ kind: 'status', status: 503 });
    expect(await runTick()).toMatchObject({ probes: 1, probed: 1, failed: 1 });
    expect(await h.db.integrations.findById(id)).toMatchObject({ healthStatus: 'DOWN', consecutiveFailures: 1 });
  });

  it('counts a 503 with Retry-After as throttling: not probed', async () => {
    const id = await h.createIntegration();
    await h.db.prisma.integration.updateMany({ where: { id: { not: id } }, data: { isActive: false } });
    h.supplier.behave({ kind: 'status', status: 503, headers: { 'retry-after': '600' } });
    expect(await runTick()).toMatchObject({ probes: 1, probed: 0, failed: 0 });
    expect(await h.db.integrations.findById(id)).toMatchObject({ healthStatus: 'HEALTHY', consecutiveFailures: 0 });
  });
});

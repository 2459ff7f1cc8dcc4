import { randomBytes } from 'node:crypto';
import type { Integration } from '@octo-sync/db';
import { healthFanoutJob, healthProbeJob } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { generateCatalog, TEST_REDIS_URL, waitFor, withoutProducts } from '@octo-sync/testkit';
import { Redis } from 'ioredis';
import type { HealthProbeResult } from '../src/health/health-probe.handler';
import { checkRedisSettings } from '../src/health/redis-settings';
import { startHarness, type Harness } from './harness';

/** The HEALTHY → DEGRADED → DOWN → HEALTHY state machine of partner-api.md §6, through real probe jobs. */
describe('integration health probes', () => {
  let h: Harness;
  let tick = 1;
  const catalog = generateCatalog({ products: 6, options: 1, units: 2, seed: 11 });

  beforeAll(async () => {
    h = await startHarness({ HEALTH_DOWN_AFTER: '3', HEALTH_PROBE_TIMEOUT_MS: '2000' });
    h.supplier.setCatalog(catalog);
  });
  afterEach(() => h.supplier.behave(null));
  afterAll(() => h.close());

  /** Runs one probe job (a new tick each time) and returns its result. */
  async function probe(integrationId: string, at = tick++): Promise<HealthProbeResult> {
    const job = await h.producer.enqueue(healthProbeJob, { integrationId, tick: at });
    const outcome = await h.producer.waitFor<HealthProbeResult>(job, 15_000);
    if (outcome.state !== 'completed') throw new Error(`probe did not complete: ${JSON.stringify(outcome)}`);
    return outcome.value;
  }
  const load = async (id: string): Promise<Integration> => (await h.db.integrations.findById(id))!;
  const activeProducts = (id: string) => h.db.prisma.product.count({ where: { integrationId: id, active: true } });

  it('goes DEGRADED, then DOWN after HEALTH_DOWN_AFTER failures (products inactive), then recovers with a health_recovery sync', async () => {
    const id = await h.createIntegration();
    expect((await h.sync(id)).status).toBe('succeeded');
    expect(await activeProducts(id)).toBe(6);

    const healthy = await probe(id);
    expect(healthy).toMatchObject({ probed: true, ok: true, previous: 'HEALTHY', status: 'HEALTHY', consecutiveFailures: 0 });
    const start = await load(id);
    expect(start.lastSuccessAt).not.toBeNull();
    expect(start.lastProbeAt).toEqual(start.lastSuccessAt);

    h.supplier.behave({ kind: 'status', status: 500 });
    const first = await probe(id);
    expect(first).toMatchObject({ ok: false, code: expect.any(String), previous: 'HEALTHY', status: 'DEGRADED', consecutiveFailures: 1 });
    const degraded = await load(id);
    expect(degraded).toMatchObject({ healthStatus: 'DEGRADED', consecutiveFailures: 1, downSince: null, lastSuccessAt: start.lastSuccessAt });
    expect(degraded.degradedSince).toEqual(degraded.lastProbeAt);
    expect(degraded.lastProbeAt!.getTime()).toBeGreaterThan(start.lastProbeAt!.getTime());

    const second = await probe(id);
    expect(second).toMatchObject({ previous: 'DEGRADED', status: 'DEGRADED', consecutiveFailures: 2 });
    const stillDegraded = await load(id);
    expect(stillDegraded.degradedSince).toEqual(degraded.degradedSince);
    expect(stillDegraded.lastProbeAt!.getTime()).toBeGreaterThan(degraded.lastProbeAt!.getTime());
    expect(await activeProducts(id)).toBe(6);

    const third = await probe(id);
    expect(third).toMatchObject({ previous: 'DEGRADED', status: 'DOWN', consecutiveFailures: 3, deactivated: 6 });
    const down = await load(id);
    expect(down).toMatchObject({ healthStatus: 'DOWN', consecutiveFailures: 3, degradedSince: degraded.degradedSince, lastSyncHash: null });
    expect(down.downSince).toEqual(down.lastProbeAt);
    expect(await activeProducts(id)).toBe(0);

    // Still failing: stays DOWN, nothing fires again.
    const fourth = await probe(id);
    expect(fourth).toMatchObject({ previous: 'DOWN', status: 'DOWN', consecutiveFailures: 4 });
    expect(fourth).not.toHaveProperty('deactivated');
    expect((await load(id)).downSince).toEqual(down.downSince);

    // Scheduled syncs are refused while DOWN.
    expect(await h.sync(id, { trigger: 'schedule' })).toMatchObject({ status: 'failed', errorCode: 'INTEGRATION_DOWN' });

    // The supplier comes back, without one product: recovery restores the products still listed.
    h.supplier.behave(null);
    const shrunk = withoutProducts(catalog, [catalog[0]!.id]);
    h.supplier.setCatalog(shrunk);
    const recovered = await probe(id);
    expect(recovered).toMatchObject({ ok: true, previous: 'DOWN', status: 'HEALTHY', consecutiveFailures: 0, recoveryRunId: expect.any(String) });
    const healthyAgain = await load(id);
    expect(healthyAgain).toMatchObject({ healthStatus: 'HEALTHY', consecutiveFailures: 0, degradedSince: null, downSince: null });
    expect(healthyAgain.lastSuccessAt).toEqual(healthyAgain.lastProbeAt);
    expect(healthyAgain.lastSuccessAt!.getTime()).toBeGreaterThan(start.lastSuccessAt!.getTime());

    const runId = recovered.probed ? recovered.recoveryRunId! : '';
    const run = await waitFor('the recovery sync to finish', async () => {
      const r = await h.db.runs.findRun(runId);
      return r && r.status !== 'queued' && r.status !== 'running' ? r : undefined;
    });
    expect(run).toMatchObject({ trigger: 'health_recovery', status: 'succeeded' });
    const products = await h.db.prisma.product.findMany({ where: { integrationId: id }, orderBy: { octoId: 'asc' } });
    expect(products.filter((p) => p.active).map((p) => p.octoId)).toEqual(shrunk.map((p) => p.id).sort());
    expect(products.find((p) => p.octoId === catalog[0]!.id)).toMatchObject({ active: false });
  });

  it('fires each transition once when probes race', async () => {
    const id = await h.createIntegration();
    await h.sync(id);
    h.supplier.behave({ kind: 'status', status: 503 });
    await probe(id);
    await probe(id);
    // Two failing probes at once at the threshold: both count, only one enters DOWN.
    const racingDown = await Promise.all([probe(id), probe(id)]);
    expect(racingDown.map((r) => r.probed && r.consecutiveFailures).sort()).toEqual([3, 4]);
    expect(racingDown.filter((r) => r.probed && r.deactivated !== undefined)).toHaveLength(1);

    h.supplier.behave(null);
    const racingUp = await Promise.all([probe(id), probe(id), probe(id)]);
    expect(racingUp.filter((r) => r.probed && r.recoveryRunId !== undefined)).toHaveLength(1);
    expect(racingUp.filter((r) => r.probed && r.previous === 'DOWN')).toHaveLength(1);
    const runs = await h.db.prisma.syncRun.findMany({ where: { integrationId: id, trigger: 'health_recovery' } });
    expect(runs).toHaveLength(1);
    await waitFor('the recovery sync to finish', async () => (await h.db.runs.findRun(runs[0]!.id))?.status === 'succeeded');
  });

  it('probes a tick once, and fans out to approved, active, live integrations only', async () => {
    const id = await h.createIntegration();
    const before = h.supplier.requests.length;
    const at = tick++;
    await Promise.all([probe(id, at), probe(id, at)]);
    expect(h.supplier.requests.length - before).toBe(1);

    const unapproved = await h.createIntegration({ isApproved: false });
    const inactive = await h.createIntegration();
    await h.db.integrations.setActive(inactive, false);
    const deleted = await h.createIntegration();
    await h.db.integrations.softDelete(deleted);
    const down = await h.createIntegration();
    await h.db.prisma.integration.update({ where: { id: down }, data: { healthStatus: 'DOWN', consecutiveFailures: 3, downSince: new Date() } });
    const eligible = [id, down];

    const fanout = await h.producer.enqueue(healthFanoutJob, {});
    const outcome = await h.producer.waitFor<{ probes: number }>(fanout, 15_000);
    expect(outcome).toMatchObject({ state: 'completed' });
    const all = await h.db.prisma.integration.findMany({ where: { isApproved: true, isActive: true, deletedAt: null } });
    expect(outcome.state === 'completed' && outcome.value.probes).toBe(all.length);
    await waitFor('every eligible integration to be probed', async () => {
      const rows = await h.db.prisma.integration.findMany({ where: { id: { in: eligible } } });
      return rows.every((r) => r.lastProbeAt !== null && r.lastProbeAt.getTime() >= fanout.timestamp);
    });
    // The DOWN one recovered through its probe.
    expect(await load(down)).toMatchObject({ healthStatus: 'HEALTHY' });
    for (const skipped of [unapproved, inactive, deleted]) expect((await load(skipped)).lastProbeAt).toBeNull();
  });
});

describe('Redis settings check', () => {
  const log = createLogger({ name: 'redis-settings-test', level: 'silent' });

  it('reports the settings Redis really has', async () => {
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
    await redis.connect();
    try {
      const report = await checkRedisSettings(redis, log);
      const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
      const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
      const [, save] = (await redis.config('GET', 'save')) as string[];
      const persistent = appendonly === 'yes' || save !== '';
      expect(report).toEqual({
        checked: true,
        maxmemoryPolicy: policy,
        aof: appendonly === 'yes',
        rdb: save !== '',
        warnings: [...(policy === 'noeviction' ? [] : ['maxmemory-policy']), ...(persistent ? [] : ['persistence'])],
      });
    } finally {
      redis.disconnect();
    }
  });

  it('says it could not check when CONFIG is refused (managed Redis)', async () => {
    const admin = new Redis(TEST_REDIS_URL, { lazyConnect: true });
    await admin.connect();
    const user = `octo-test-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await admin.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all', '-config');
    const restricted = new Redis(TEST_REDIS_URL, { username: user, password, maxRetriesPerRequest: 1 });
    try {
      const report = await checkRedisSettings(restricted, log);
      expect(report).toMatchObject({ checked: false, reason: expect.stringMatching(/NOPERM|permission/i) });
    } finally {
      restricted.disconnect();
      await admin.call('ACL', 'DELUSER', user);
      admin.disconnect();
    }
  });
});

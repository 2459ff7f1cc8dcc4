import { randomBytes } from 'node:crypto';
import type { Integration } from '@octo-sync/db';
import { healthFanoutJob } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { SyncRequests } from '@octo-sync/runs';
import { generateCatalog, TEST_REDIS_URL, waitFor, withoutProducts } from '@octo-sync/testkit';
import { Redis } from 'ioredis';
import type { HealthTickReport } from '../src/health/health-fanout.handler';
import { applyProbe } from '../src/health/health-tick';
import { checkRedisSettings } from '../src/health/redis-settings';
import { startHarness, type Harness } from './harness';

/** The HEALTHY → DEGRADED → DOWN → HEALTHY state machine of the health probes, tick by tick. */
describe('integration health probes', () => {
  let h: Harness;
  let tick = Date.now();
  const catalog = generateCatalog({ products: 6, options: 1, units: 2, seed: 11 });
  const log = createLogger({ name: 'health-test', level: 'silent' });

  beforeAll(async () => {
    h = await startHarness({ HEALTH_DOWN_AFTER: '3', HEALTH_PROBE_TIMEOUT_MS: '2000' });
    h.supplier.setCatalog(catalog);
  });
  afterEach(() => h.supplier.behave(null));
  afterAll(() => h.close());

  /** Runs one tick's fan-out (probes and application) and returns its report. */
  async function runTick(at = tick++, scheduler = 'health-test'): Promise<HealthTickReport> {
    const job = await h.producer.enqueue(healthFanoutJob, {}, { jobId: `repeat:${scheduler}:${at}` });
    const outcome = await h.producer.waitFor<HealthTickReport>(job, 30_000);
    if (outcome.state !== 'completed') throw new Error(`tick did not complete: ${JSON.stringify(outcome)}`);
    return outcome.value;
  }
  /** A new integration, the only one the next ticks probe. */
  async function onlyIntegration(options: { isApproved?: boolean; baseUrl?: string } = {}): Promise<string> {
    const id = await h.createIntegration(options);
    await h.db.prisma.integration.updateMany({ where: { id: { not: id } }, data: { isActive: false } });
    return id;
  }
  const load = async (id: string): Promise<Integration> => (await h.db.integrations.findById(id))!;
  const activeProducts = (id: string) => h.db.prisma.product.count({ where: { integrationId: id, active: true } });

  it('goes DEGRADED, then DOWN after HEALTH_DOWN_AFTER failures (products inactive), then recovers with a health_recovery sync', async () => {
    const id = await onlyIntegration();
    expect((await h.sync(id)).status).toBe('succeeded');
    expect(await activeProducts(id)).toBe(6);

    expect(await runTick()).toMatchObject({ probes: 1, probed: 1, failed: 0, suspectedLocalOutage: false, changed: 0 });
    const start = await load(id);
    expect(start).toMatchObject({ healthStatus: 'HEALTHY', consecutiveFailures: 0 });
    expect(start.lastSuccessAt).not.toBeNull();
    expect(start.lastProbeAt).toEqual(start.lastSuccessAt);

    h.supplier.behave({ kind: 'status', status: 500 });
    expect(await runTick()).toMatchObject({ probed: 1, failed: 1, suspectedLocalOutage: false, changed: 1 });
    const degraded = await load(id);
    expect(degraded).toMatchObject({ healthStatus: 'DEGRADED', consecutiveFailures: 1, downSince: null, lastSuccessAt: start.lastSuccessAt });
    expect(degraded.degradedSince).toEqual(degraded.lastProbeAt);
    expect(degraded.lastProbeAt!.getTime()).toBeGreaterThan(start.lastProbeAt!.getTime());

    expect(await runTick()).toMatchObject({ failed: 1, changed: 0 });
    const stillDegraded = await load(id);
    expect(stillDegraded).toMatchObject({ healthStatus: 'DEGRADED', consecutiveFailures: 2, degradedSince: degraded.degradedSince });
    expect(stillDegraded.lastProbeAt!.getTime()).toBeGreaterThan(degraded.lastProbeAt!.getTime());
    expect(await activeProducts(id)).toBe(6);

    expect(await runTick()).toMatchObject({ failed: 1, changed: 1 });
    const down = await load(id);
    expect(down).toMatchObject({ healthStatus: 'DOWN', consecutiveFailures: 3, degradedSince: degraded.degradedSince, lastSyncHash: null });
    expect(down.downSince).toEqual(down.lastProbeAt);
    expect(await activeProducts(id)).toBe(0);

    // Still failing: stays DOWN, nothing fires again.
    expect(await runTick()).toMatchObject({ failed: 1, changed: 0 });
    expect(await load(id)).toMatchObject({ healthStatus: 'DOWN', consecutiveFailures: 4, downSince: down.downSince });

    // Scheduled syncs are refused while DOWN.
    expect(await h.sync(id, { trigger: 'schedule' })).toMatchObject({ status: 'failed', errorCode: 'INTEGRATION_DOWN' });

    // The supplier comes back, without one product: recovery restores the products still listed.
    h.supplier.behave(null);
    const shrunk = withoutProducts(catalog, [catalog[0]!.id]);
    h.supplier.setCatalog(shrunk);
    expect(await runTick()).toMatchObject({ failed: 0, changed: 1 });
    const healthyAgain = await load(id);
    expect(healthyAgain).toMatchObject({ healthStatus: 'HEALTHY', consecutiveFailures: 0, degradedSince: null, downSince: null });
    expect(healthyAgain.lastSuccessAt).toEqual(healthyAgain.lastProbeAt);
    expect(healthyAgain.lastSuccessAt!.getTime()).toBeGreaterThan(start.lastSuccessAt!.getTime());

    const run = await waitFor('the recovery sync to finish', async () => {
      const [r] = await h.db.prisma.syncRun.findMany({ where: { integrationId: id, trigger: 'health_recovery' } });
      return r && r.status !== 'queued' && r.status !== 'running' ? r : undefined;
    });
    expect(run).toMatchObject({ trigger: 'health_recovery', status: 'succeeded' });
    const products = await h.db.prisma.product.findMany({ where: { integrationId: id }, orderBy: { octoId: 'asc' } });
    expect(products.filter((p) => p.active).map((p) => p.octoId)).toEqual(shrunk.map((p) => p.id).sort());
    expect(products.find((p) => p.octoId === catalog[0]!.id)).toMatchObject({ active: false });
    h.supplier.setCatalog(catalog);
  });

  it('fires each transition once when steps race', async () => {
    const id = await onlyIntegration();
    await h.sync(id);
    const deps = { db: h.db, requests: new SyncRequests(h.db, h.producer), downAfter: 3, alerts: { raise: () => Promise.resolve() } };
    const fail = () => applyProbe(deps, { integrationId: id, ok: false, code: 'SUPPLIER_SERVER_ERROR' }, log);
    await fail();
    await fail();
    // Two failing steps at once at the threshold: both count, only one enters DOWN.
    const racingDown = await Promise.all([fail(), fail()]);
    expect(racingDown.map((r) => r?.consecutiveFailures).sort()).toEqual([3, 4]);
    expect(racingDown.filter((r) => r?.deactivated !== undefined)).toHaveLength(1);

    const succeed = () => applyProbe(deps, { integrationId: id, ok: true }, log);
    const racingUp = await Promise.all([succeed(), succeed(), succeed()]);
    expect(racingUp.filter((r) => r?.recoveryRunId !== undefined)).toHaveLength(1);
    expect(racingUp.filter((r) => r?.previous === 'DOWN')).toHaveLength(1);
    const runs = await h.db.prisma.syncRun.findMany({ where: { integrationId: id, trigger: 'health_recovery' } });
    expect(runs).toHaveLength(1);
    await waitFor('the recovery sync to finish', async () => (await h.db.runs.findRun(runs[0]!.id))?.status === 'succeeded');
  });

  it('probes a tick once, and fans out to approved, active, live integrations only', async () => {
    const id = await onlyIntegration({ baseUrl: `${h.supplier.url}/probed` });
    const unapproved = await h.createIntegration({ isApproved: false });
    const inactive = await h.createIntegration();
    await h.db.integrations.setActive(inactive, false);
    const deleted = await h.createIntegration();
    await h.db.integrations.softDelete(deleted);
    const down = await h.createIntegration();
    await h.db.prisma.integration.update({ where: { id: down }, data: { healthStatus: 'DOWN', consecutiveFailures: 3, downSince: new Date() } });

    const at = tick++;
    // Two fan-out jobs of one tick: each integration is still probed once.
    const [first, second] = await Promise.all([runTick(at), runTick(at, 'health-test-again')]);
    expect(first).toMatchObject({ probes: 2, probed: 2, failed: 0 });
    expect(second).toMatchObject({ probes: 2, probed: 2 });
    expect(h.supplier.requests.filter((r) => r.path === '/probed/products')).toHaveLength(1);

    // The DOWN one recovered through its probe.
    expect(await load(down)).toMatchObject({ healthStatus: 'HEALTHY' });
    expect((await load(id)).lastProbeAt).not.toBeNull();
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

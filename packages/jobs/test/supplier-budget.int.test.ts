import { randomUUID } from 'node:crypto';
import { createRedis, SupplierBudget } from '@octo-sync/jobs';

type Permit = Awaited<ReturnType<SupplierBudget['permit']>>;
import { clearPrefix, TEST_REDIS_URL, uniquePrefix, waitFor } from '@octo-sync/testkit';

/**
 * The shared supplier budget on a real Redis. Two budget objects stand for two workers: they
 * share one state. No assertion depends on speed: waits are compared with what the bucket says,
 * and what must happen "later" is waited for.
 */
describe('SupplierBudget', () => {
  const prefix = uniquePrefix('supplier-budget');
  const redis = createRedis(TEST_REDIS_URL, 'worker');
  const options = { leaseTtlMs: 60_000, slowForMs: 60_000, backoffBaseMs: 1_000, backoffMaxMs: 4_000, maxHoldMs: 30_000 };
  const workerA = new SupplierBudget(redis, prefix, options);
  const workerB = new SupplierBudget(redis, prefix, options);
  afterAll(async () => {
    await clearPrefix(prefix);
    redis.disconnect();
  });
  const granted = (permit: Permit): string => {
    if (!permit.granted) throw new Error(`permit refused, wait ${permit.waitMs} ms`);
    return permit.lease;
  };

  it('spends one rate across workers: a second of the rate at once, then a wait of about one token', async () => {
    const id = randomUUID();
    const budget = { requestsPerSecond: 2, concurrency: 64 };
    granted(await workerA.permit(id, budget));
    granted(await workerB.permit(id, budget));
    const third = await workerA.permit(id, budget);
    expect(third).toMatchObject({ granted: false, slowed: false });
    expect(!third.granted && third.waitMs).toBeLessThanOrEqual(500);
  });

  it('holds at most `concurrency` calls in flight across workers; a release frees a place', async () => {
    const id = randomUUID();
    const budget = { requestsPerSecond: 1000, concurrency: 2 };
    const first = granted(await workerA.permit(id, budget));
    granted(await workerB.permit(id, budget));
    expect(await workerA.permit(id, budget)).toMatchObject({ granted: false });
    await workerA.release(id, first);
    granted(await workerB.permit(id, budget));
  });

  it('drops a lease its worker never released once the lease expires', async () => {
    const id = randomUUID();
    const shortLived = new SupplierBudget(redis, prefix, { ...options, leaseTtlMs: 200 });
    const budget = { requestsPerSecond: 1000, concurrency: 1 };
    granted(await shortLived.permit(id, budget));
    expect(await shortLived.permit(id, budget)).toMatchObject({ granted: false });
    await waitFor('the dead lease to expire', async () => (await shortLived.permit(id, budget)).granted || undefined, { timeoutMs: 30_000 });
  });

  it('holds every call until a throttled answer’s resume time, then lets one through at the lowered rate', async () => {
    const id = randomUUID();
    const budget = { requestsPerSecond: 1000, concurrency: 64 };
    const resumeIn = await workerA.throttled(id, 1_500);
    expect(resumeIn).toBe(1_500);
    const held = await workerB.permit(id, budget);
    expect(held).toMatchObject({ granted: false, slowed: true });
    expect(!held.granted && held.waitMs).toBeGreaterThan(0);
    expect(!held.granted && held.waitMs).toBeLessThanOrEqual(1_500);
    // A later, shorter Retry-After never brings the resume time forward.
    expect(await workerB.throttled(id, 10)).toBeGreaterThan(10);
    await waitFor('the resume time to pass', async () => (await workerA.permit(id, budget)).granted || undefined, { timeoutMs: 30_000 });
  });

  it('holds calls no longer than maxHoldMs, however long a Retry-After asks for', async () => {
    const id = randomUUID();
    expect(await workerA.throttled(id, 86_400_000)).toBeLessThanOrEqual(options.maxHoldMs);
    const permit = await workerB.permit(id, { requestsPerSecond: 5, concurrency: 4 });
    expect(permit).toMatchObject({ granted: false, slowed: true });
    expect(permit.granted ? 0 : permit.waitMs).toBeLessThanOrEqual(options.maxHoldMs);
  });

  it('holds calls at least the backoff base after a Retry-After of 0, so a throttling supplier is never called in a tight loop', async () => {
    const id = randomUUID();
    expect(await workerA.throttled(id, 0)).toBe(options.backoffBaseMs);
    const permit = await workerB.permit(id, { requestsPerSecond: 5, concurrency: 4 });
    expect(permit).toMatchObject({ granted: false, slowed: true });
    expect(permit.granted ? 0 : permit.waitMs).toBeGreaterThan(0);
  });

  it('backs off exponentially, within its cap, after throttled answers without Retry-After', async () => {
    const id = randomUUID();
    const waits = [await workerA.throttled(id, undefined), await workerA.throttled(id, undefined), await workerA.throttled(id, undefined), await workerA.throttled(id, undefined)];
    // Each is the later of the held resume time and now + base × 2^(n − 1) (capped at 4 s).
    expect(waits[0]).toBeLessThanOrEqual(1_000);
    expect(waits[1]).toBeGreaterThan(1_000);
    expect(waits[2]).toBeGreaterThan(2_000);
    expect(waits[3]).toBeLessThanOrEqual(4_000);
  });

  it('gives a capped share of the rate at once or not at all, and nothing while the supplier throttles', async () => {
    const id = randomUUID();
    // 0.2 of 5/s: one call a second.
    expect(await workerA.takeShare(id, 5, 0.2, 1)).toBe(true);
    expect(await workerB.takeShare(id, 5, 0.2, 1)).toBe(false);
    const other = randomUUID();
    await workerA.throttled(other, 60_000);
    expect(await workerA.takeShare(other, 5, 0.2, 1)).toBe(false);
  });

  it('spends the share by calls: a grant of many calls leaves the share in debt until they are paid back', async () => {
    const id = randomUUID();
    // 0.5 of 4/s: two calls a second. A pull of 10 options spends 10: about 5 s of the share.
    expect(await workerA.takeShare(id, 4, 0.5, 10)).toBe(true);
    const refusedAt = Date.now();
    await waitFor('the share to be paid back', async () => (await workerB.takeShare(id, 4, 0.5, 1)) || undefined, { timeoutMs: 60_000, intervalMs: 250 });
    // Redis's clock decides; ours only bounds it from below (the debt is 9 calls at two a second).
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(4_000);
  });
});

import { randomUUID } from 'node:crypto';
import { availabilityApplyJob, createRedis, shardedKey } from '@octo-sync/jobs';
import { slotStart, TEST_REDIS_URL, uniquePrefix, clearPrefix, waitFor } from '@octo-sync/testkit';
import { TokenBucketLimiter } from '../src/rate-limit';
import { BASE, createBody, startGateway, useGateway, type GatewayHarness } from './harness';

/** The webhook budgets: notify's token bucket, and failed authentications per client address. */
// Notify: 500 at once, then one change an hour (nothing refills within a test). Failed
// authentications: 3 per window per address, told apart by X-Forwarded-For.
const { h, admin } = useGateway({ NOTIFY_BURST: '500', NOTIFY_RATE_LIMIT: '1', WEBHOOK_RATE_WINDOW_MS: '3600000', AUTH_FAILURE_LIMIT: '3', TRUST_PROXY: 'true' });

async function integration(partner: string): Promise<{ _id: string; webhook_secret: string }> {
  const res = await h.http().post(`${BASE}/admin/create`).set(admin()).send({ partner_id: partner, ...createBody() });
  expect(res.status).toBe(201);
  return res.body.data as { _id: string; webhook_secret: string };
}

const START = slotStart(30, '09:00', '+02:00');
const change = (availabilityId: string, over: Record<string, unknown> = {}) => ({ productId: 'p1', optionId: 'o1', availabilityId, localDateTimeStart: START, status: 'AVAILABLE', ...over });
const batch = (n: number, tag: string) => ({ updates: Array.from({ length: n }, (_, i) => change(`${tag}-${i}`)) });

function notify(target: { _id: string; webhook_secret: string }, body: unknown) {
  return h.http().post(`${BASE}/${target._id}/availability/notify`).set({ 'x-webhook-secret': target.webhook_secret, prefer: 'respond-async' }).send(body as object);
}

async function queuedChanges(): Promise<number> {
  const jobs = await h.producer.queue(availabilityApplyJob.queue).getJobs(['waiting', 'delayed', 'prioritized']);
  return jobs.reduce((sum, job) => sum + (job.data as { changes: unknown[] }).changes.length, 0);
}

describe('notify budget (NOTIFY_BURST, then NOTIFY_RATE_LIMIT per window)', () => {
  test('the burst is accepted; a batch larger than what is left is refused whole and spends nothing; Retry-After says when it all fits', async () => {
    const target = await integration('p-bucket');
    const before = await queuedChanges();
    // Refused for its content (new slots without a start): spends nothing either.
    const noStart = { updates: Array.from({ length: 9 }, (_, i) => change(`new-${i}`, { localDateTimeStart: undefined })) };
    expect((await notify(target, noStart)).status).toBe(400);
    expect((await notify(target, batch(300, 'a'))).status).toBe(202);
    const refused = await notify(target, batch(201, 'b'));
    expect(refused.status).toBe(429);
    expect(refused.body.error[0]).toMatch(/at most 500 at once, then 1 per 3600 s slot changes per integration; this call needs 201/);
    // One change short, refilled at one an hour.
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3600);
    expect(await queuedChanges()).toBe(before + 300);
    // The refused call spent nothing: the other 200 still fit, then nothing does.
    expect((await notify(target, batch(200, 'c'))).status).toBe(202);
    const two = await notify(target, batch(2, 'd'));
    expect(two.status).toBe(429);
    // Two changes short: more than one hour, at most two.
    expect(Number(two.headers['retry-after'])).toBeGreaterThan(3600);
    expect(Number(two.headers['retry-after'])).toBeLessThanOrEqual(7200);
    expect(await queuedChanges()).toBe(before + 500);
  });

  test('NOTIFY_BURST below one full batch (500) is refused at start-up', async () => {
    await expect(startGateway({ NOTIFY_BURST: '499' }, h)).rejects.toThrow(/NOTIFY_BURST/);
  });
});

describe('TokenBucketLimiter on Redis time', () => {
  const redis = createRedis(TEST_REDIS_URL, 'producer');
  const prefix = uniquePrefix('bucket');
  const keyOf = (key: string) => shardedKey(prefix, 'bucket', key);
  afterAll(async () => {
    await clearPrefix(prefix);
    await redis.quit();
  });

  /** Redis's clock in µs (the bucket's own clock). */
  async function redisNowUs(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1e6 + Number(micros);
  }

  test('a drained bucket refills at the rate and no faster, whatever the pace of the caller', async () => {
    // 500 at once, then 1,000 per second: one unit per ms.
    const bucket = new TokenBucketLimiter(redis, keyOf, 500, 1_000, 1_000);
    const key = randomUUID();
    const t0 = await redisNowUs();
    expect((await bucket.take(key, 500)).allowed).toBe(true);
    const t1 = await redisNowUs();
    const need = 100;
    const probes: Array<{ allowed: boolean; retryAfterS: number; sinceDrainedUs: number; sinceStartUs: number }> = [];
    await waitFor(
      '100 units to refill',
      async () => {
        const before = await redisNowUs();
        const decision = await bucket.take(key, need);
        const after = await redisNowUs();
        probes.push({ ...decision, sinceDrainedUs: before - t1, sinceStartUs: after - t0 });
        return decision.allowed;
      },
      { timeoutMs: 30_000, intervalMs: 10 },
    );
    const taken = probes.pop()!;
    // Refilled no faster than one unit per ms since the bucket was drained.
    expect(taken.sinceStartUs).toBeGreaterThanOrEqual(need * 1_000);
    for (const refused of probes) {
      // Refused (and spent nothing), so less than 100 ms had passed since it was drained.
      expect(refused.sinceDrainedUs).toBeLessThan(need * 1_000);
      expect(refused.retryAfterS).toBe(1);
    }
  });

  test('a refund gives back what a later refusal took, never past a full bucket', async () => {
    const bucket = new TokenBucketLimiter(redis, keyOf, 500, 1, 3_600_000);
    const key = randomUUID();
    await bucket.refund(key, 100);
    expect((await bucket.take(key, 501)).allowed).toBe(false);
    expect((await bucket.take(key, 400)).allowed).toBe(true);
    await bucket.refund(key, 400);
    expect((await bucket.take(key, 500)).allowed).toBe(true);
    const refused = await bucket.take(key, 3);
    // Three units at one an hour.
    expect(refused).toEqual({ allowed: false, retryAfterS: expect.any(Number) });
    expect(refused.retryAfterS).toBeGreaterThan(2 * 3600);
    expect(refused.retryAfterS).toBeLessThanOrEqual(3 * 3600);
  });
});

describe('failed authentications per client address (AUTH_FAILURE_LIMIT)', () => {
  const trigger = (id: string, secret: string, address: string) =>
    h.http().post(`${BASE}/${id}/sync/trigger`).set({ 'x-webhook-secret': secret, prefer: 'respond-async', 'x-forwarded-for': address });

  test('a blocked address keeps the integrations it reached itself, not those others reached', async () => {
    const mine = await integration('p-reached-mine');
    const theirs = await integration('p-reached-theirs');
    expect((await trigger(mine._id, mine.webhook_secret, '198.51.100.7')).status).toBe(202);
    expect((await trigger(theirs._id, theirs.webhook_secret, '203.0.113.9')).status).toBe(202);
    // Failures are counted in the background: fail until the block shows.
    const blocked = await waitFor('198.51.100.7 to be blocked', async () => {
      const res = await trigger(randomUUID(), 'f'.repeat(64), '198.51.100.7');
      return res.status === 429 ? res : undefined;
    });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await trigger(mine._id, mine.webhook_secret, '198.51.100.7')).status).toBe(202);
    // An id this gateway has seen succeed, but from another address: no exemption, not even a check.
    expect((await trigger(theirs._id, 'f'.repeat(64), '198.51.100.7')).status).toBe(429);
    expect((await trigger(theirs._id, theirs.webhook_secret, '198.51.100.7')).status).toBe(429);
    expect((await trigger(theirs._id, theirs.webhook_secret, '203.0.113.9')).status).toBe(202);
  });

  test('failures that arrive together are all counted in Redis', async () => {
    const address = '192.0.2.44';
    const answers = await Promise.all(Array.from({ length: 3 }, () => trigger(randomUUID(), 'f'.repeat(64), address)));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401]);
    const counter = shardedKey(h.prefix, 'gateway:rate:failedAuth', address);
    await waitFor('the three failures to reach Redis', async () => (await h.redis.get(counter)) === '3');
  });
});

describe('failed authentications across gateways', () => {
  let other: GatewayHarness;
  beforeAll(async () => {
    // A second gateway on the same Redis and database, with the same limit.
    other = await startGateway(h.env, h);
  });
  afterAll(async () => {
    await other?.close();
  });

  const wrongSecret = (on: GatewayHarness, address: string) =>
    on.http().post(`${BASE}/${randomUUID()}/sync/trigger`).set({ 'x-webhook-secret': 'f'.repeat(64), prefer: 'respond-async', 'x-forwarded-for': address });

  test('a burst larger than what is left of the limit is counted whole, so another gateway blocks the address at its first failure', async () => {
    const address = '192.0.2.91';
    const limit = h.config.authFailureLimit;
    const burst = await Promise.all(Array.from({ length: limit + 2 }, () => wrongSecret(h, address)));
    expect(burst.map((a) => a.status)).toEqual(Array.from({ length: limit + 2 }, () => 401));
    const counter = shardedKey(h.prefix, 'gateway:rate:failedAuth', address);
    await waitFor('the whole burst to reach Redis', async () => Number(await h.redis.get(counter)) === limit + 2);

    // The other gateway has seen nothing from this address yet; one failure of its own tells it the shared count.
    expect((await wrongSecret(other, address)).status).toBe(401);
    const target = await integration('p-across-gateways');
    // A valid secret with an empty body: 400 while the address may call, 429 once blocked (neither counts a failure).
    const probe = () =>
      other.http().post(`${BASE}/${target._id}/availability/notify`).set({ 'x-webhook-secret': target.webhook_secret, 'x-forwarded-for': address }).send({});
    const blocked = await waitFor('the other gateway to block the address', async () => {
      const res = await probe();
      expect([400, 429]).toContain(res.status);
      return res.status === 429 ? res : undefined;
    });
    expect(blocked.body.error[0]).toMatch(/too many failed webhook authentications from this address/);
    expect(Number(await h.redis.get(counter))).toBe(limit + 3);
  });
});

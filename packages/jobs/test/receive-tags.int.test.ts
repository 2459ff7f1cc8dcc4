import { createRedis, RECEIVE_TAGS, ReceiveTagLease } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { clearPrefix, TEST_REDIS_URL, uniquePrefix, waitFor } from '@octo-sync/testkit';

/** Receive tags, leased from a real Redis: unique among live gateways by construction. */
describe('ReceiveTagLease', () => {
  const prefix = uniquePrefix('receive-tags');
  const redis = createRedis(TEST_REDIS_URL, 'worker');
  const log = createLogger({ level: 'silent', name: 'receive-tags-test' });
  const leases: ReceiveTagLease[] = [];
  const lease = async (ttlMs?: number): Promise<ReceiveTagLease> => {
    const made = new ReceiveTagLease(redis, prefix, log, ttlMs);
    leases.push(made);
    await made.firstAttempt;
    return made;
  };
  const tagKey = (tag: number | 'next') => `${prefix}:gateway:receive-tag:${tag}`;
  afterAll(async () => {
    await Promise.all(leases.map((l) => l.release()));
    await clearPrefix(prefix);
    redis.disconnect();
  });

  it('gives gateways starting at once different tags, even past a counter wrap', async () => {
    // The old tag was randomInt(1000): 40 gateways shared one more often than not (1 - e^(-0.78)).
    await redis.set(tagKey('next'), String(RECEIVE_TAGS - 20));
    const tags = (await Promise.all(Array.from({ length: 40 }, () => lease()))).map((l) => l.tag());
    expect(new Set(tags).size).toBe(40);
    for (const tag of tags) expect(tag).toBeGreaterThanOrEqual(0);
    for (const tag of tags) expect(tag).toBeLessThan(RECEIVE_TAGS);
  });

  it('never takes a tag a live gateway holds: a taken tag is skipped, a released one reused', async () => {
    const first = await lease();
    await redis.set(tagKey('next'), String(first.tag() - 1));
    const second = await lease();
    expect(second.tag()).not.toBe(first.tag());
    const freed = first.tag();
    await first.release();
    expect(await redis.exists(tagKey(freed))).toBe(0);
    await redis.set(tagKey('next'), String(freed - 1));
    expect((await lease()).tag()).toBe(freed);
  });

  it('leases another tag when its own was taken after a lapse, and keeps renewing it', async () => {
    const moved = await lease(300);
    const before = moved.tag();
    // As if this gateway had stalled past its lease and another had taken the tag.
    await redis.set(tagKey(before), 'another-gateway');
    await waitFor('the lease to move to a free tag', async () => moved.tag() !== before);
    expect(await redis.get(tagKey(before))).toBe('another-gateway');
    const now = moved.tag();
    // Renewed, not left to expire: cut its lifetime short, and a renewal gives it a whole one back.
    await redis.pexpire(tagKey(now), 100);
    await waitFor('a renewal of the new tag', async () => (await redis.pttl(tagKey(now))) > 150);
    expect(moved.tag()).toBe(now);
  });

  it('refuses to stamp once its lease has lapsed (Redis unreachable), and before it ever held one', async () => {
    const own = createRedis(TEST_REDIS_URL, 'producer');
    own.on('error', () => undefined);
    const lapsing = new ReceiveTagLease(own, prefix, log, 300);
    await lapsing.firstAttempt;
    const held = lapsing.tag();
    own.disconnect();
    await waitFor('the lease to lapse', async () => {
      try {
        lapsing.tag();
        return false;
      } catch (err) {
        return (err as { code?: string }).code === 'RECEIVE_TAG_UNAVAILABLE';
      }
    });
    await lapsing.release().catch((err: unknown) => expect(String(err)).toMatch(/closed|enableOfflineQueue|Connection/i));
    await redis.del(tagKey(held));

    const down = createRedis('redis://127.0.0.1:1', 'producer');
    down.on('error', () => undefined);
    const never = new ReceiveTagLease(down, prefix, log, 300);
    await never.firstAttempt;
    expect(() => never.tag()).toThrow(expect.objectContaining({ code: 'RECEIVE_TAG_UNAVAILABLE' }));
    await never.release();
    down.disconnect();
  });
});

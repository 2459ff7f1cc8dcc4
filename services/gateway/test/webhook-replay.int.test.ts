import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { createRedis } from '@octo-sync/jobs';
import { clearPrefix, TEST_REDIS_URL, uniquePrefix } from '@octo-sync/testkit';
import { ok, type Reply } from '../src/route';
import { ReplayStore } from '../src/webhook-replay';

let redis: Redis;
const prefix = uniquePrefix('replay');
const INTEGRATION = '11111111-1111-4111-8111-111111111111';

beforeAll(async () => {
  redis = createRedis(TEST_REDIS_URL, 'producer');
  if (redis.status !== 'ready') await once(redis, 'ready');
});
afterAll(async () => {
  await clearPrefix(prefix);
  await redis.quit();
});

const store = (bodyMaxBytes = 16 * 1024) => new ReplayStore(redis, { prefix, ttlMs: 60_000, bodyMaxBytes });

describe('ReplayStore', () => {
  test('a copy that outwaits its bound while the first is processed gets 409 WEBHOOK_IN_FLIGHT; later copies get the first answer', async () => {
    const replay = store();
    let release!: (reply: Reply) => void;
    const first = replay.deliver(INTEGRATION, 'msg-slow', 60_000, () => new Promise<Reply>((resolve) => (release = resolve)));
    await expect(replay.deliver(INTEGRATION, 'msg-slow', 50, () => Promise.resolve(ok({ second: true })))).rejects.toMatchObject({ code: 'WEBHOOK_IN_FLIGHT' });
    const waiting = replay.deliver(INTEGRATION, 'msg-slow', 60_000, () => Promise.resolve(ok({ third: true })));
    release(ok({ first: true }, 202, { Location: '/somewhere' }));
    expect(await first).toEqual(ok({ first: true }, 202, { Location: '/somewhere' }));
    expect(await waiting).toEqual(ok({ first: true }, 202, { Location: '/somewhere', 'Webhook-Replayed': 'true' }));
  });

  test('a refused or failed first copy is forgotten: the retry is processed', async () => {
    const replay = store();
    await expect(replay.deliver(INTEGRATION, 'msg-fail', 1_000, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await replay.deliver(INTEGRATION, 'msg-fail', 1_000, () => Promise.resolve({ status: 429, body: {} }))).toEqual({ status: 429, body: {} });
    expect(await replay.deliver(INTEGRATION, 'msg-fail', 1_000, () => Promise.resolve(ok({ n: 3 })))).toEqual(ok({ n: 3 }));
  });

  test('a body over the bound is replayed as the status and a short replayed body; keys are per integration', async () => {
    const replay = store(256);
    const big = ok({ results: 'x'.repeat(1_000) });
    await replay.deliver(INTEGRATION, 'msg-big', 1_000, () => Promise.resolve(big));
    const again = await replay.deliver(INTEGRATION, 'msg-big', 1_000, () => Promise.resolve(ok({})));
    expect(again).toEqual({ status: 200, body: { success: 1, data: { replayed: true } }, headers: { 'Webhook-Replayed': 'true' } });
    const other = await replay.deliver('22222222-2222-4222-8222-222222222222', 'msg-big', 1_000, () => Promise.resolve(ok({ other: true })));
    expect(other).toEqual(ok({ other: true }));
    const keys = await redis.keys(`${prefix}:webhook-replay:*`);
    expect(keys.every((k) => /:webhook-replay:\{[0-9a-f-]{36}\}:[A-Za-z0-9_-]{22}$/.test(k))).toBe(true);
    expect(await redis.pttl(keys[0]!)).toBeGreaterThan(50_000);
  });
});

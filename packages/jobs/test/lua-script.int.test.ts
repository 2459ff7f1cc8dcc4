import { createHash, randomUUID } from 'node:crypto';
import { createRedis, LuaScript, shardedKey } from '@octo-sync/jobs';
import { clearPrefix, TEST_REDIS_URL, uniquePrefix } from '@octo-sync/testkit';

/**
 * Scripts sent by SHA on a real Redis. Each test's script is new to that Redis (a unique comment),
 * so its first call meets NOSCRIPT: no SCRIPT FLUSH, which would touch every other test's scripts.
 */
describe('LuaScript', () => {
  const prefix = uniquePrefix('lua-script');
  const redis = createRedis(TEST_REDIS_URL, 'worker');
  afterAll(async () => {
    await clearPrefix(prefix);
    redis.disconnect();
  });
  const fresh = (body: string): { script: LuaScript; sha: string } => {
    const source = `-- ${randomUUID()}\n${body}`;
    return { script: new LuaScript(source), sha: createHash('sha1').update(source).digest('hex') };
  };

  it('sends a script Redis does not know in full once, then Redis knows it by its SHA', async () => {
    const { script, sha } = fresh(`redis.call('SET', KEYS[1], ARGV[1]) redis.call('SET', KEYS[2], ARGV[2]) return {ARGV[1], ARGV[2]}`);
    const id = randomUUID();
    const keys = [shardedKey(prefix, 'lua', id, 'a'), shardedKey(prefix, 'lua', id, 'b')];
    expect(await redis.script('EXISTS', sha)).toEqual([0]);
    expect(await script.call(redis, keys, [1, 'two'])).toEqual(['1', 'two']);
    expect(await redis.script('EXISTS', sha)).toEqual([1]);
    expect(await script.call(redis, keys, [3, 4])).toEqual(['3', '4']);
    expect(await redis.mget(...keys)).toEqual(['3', '4']);
  });

  it('answers a one-key script\'s array as numbers (run)', async () => {
    const { script } = fresh(`return {redis.call('INCRBY', KEYS[1], ARGV[1]), '7'}`);
    expect(await script.run(redis, shardedKey(prefix, 'lua', randomUUID(), 'n'), [5])).toEqual([5, 7]);
  });

  it('passes on an error that is not NOSCRIPT', async () => {
    const { script } = fresh(`return redis.error_reply('BUDGET broken')`);
    await expect(script.call(redis, [shardedKey(prefix, 'lua', randomUUID(), 'x')], [])).rejects.toThrow('BUDGET broken');
  });
});

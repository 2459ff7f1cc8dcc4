import { createHash } from 'node:crypto';
import type { RedisConnection } from './redis';

/**
 * A Lua script sent by its SHA1, and in full once a Redis does not know it yet. Its keys must
 * share one slot (one hash tag), so it runs on Redis Cluster too: the command goes to that
 * slot's master, and so does the fallback.
 */
export class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script on `keys` with `args`; resolves with its answer as Redis gives it. */
  async call(redis: RedisConnection, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      // First use on this Redis (or after SCRIPT FLUSH / a restart): send the script itself once.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }

  /** Runs the script on one key; each element of its answer (an array) as a number. */
  async run(redis: RedisConnection, key: string, args: ReadonlyArray<string | number>): Promise<number[]> {
    return ((await this.call(redis, [key], args)) as unknown[]).map(Number);
  }
}

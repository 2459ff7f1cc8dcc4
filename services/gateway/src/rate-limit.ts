import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { KeyedGroupCommit } from '@octo-sync/platform';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the current window ends (for Retry-After). */
  retryAfterS: number;
  remaining: number;
}

/** INCRBY + PEXPIRE of one window's counter, atomically, in one command; answers the new count. */
const HIT_SCRIPT = `local count = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return count`;
const HIT_SHA = createHash('sha1').update(HIT_SCRIPT).digest('hex');

/**
 * A fixed-window counter in Redis: at most `limit` hits per key per `windowMs`, shared by every
 * gateway replica. Coarse at window edges (up to 2x in a burst across a boundary), which is fine
 * for protecting the queue from a looping webhook sender.
 *
 * Hits on one window's counter that arrive while a round trip for that counter is in flight are
 * sent together as one INCRBY n when it returns (a {@link KeyedGroupCommit} per counter). That is
 * the same as n INCRs applied back to back: the counter moves by n atomically, hit i of the group
 * is decided on the count it brought the counter to (new count - n + 1 + i), and every hit
 * counts, allowed or not, as before. Nothing is decided locally: the limit stays exact across
 * replicas. (One Lua command instead of a MULTI also avoids building an ioredis Pipeline per hit,
 * which copies every script BullMQ defined on the shared connection.)
 */
export class FixedWindowLimiter {
  private readonly counters: KeyedGroupCommit<number, RateDecision>;

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    this.counters = new KeyedGroupCommit((redisKey, hits) => this.count(redisKey, hits), Number.MAX_SAFE_INTEGER);
  }

  async hit(key: string, now = Date.now()): Promise<RateDecision> {
    const window = Math.floor(now / this.windowMs);
    const [decision] = await this.counters.submit(`${this.keyPrefix}:${key}:${window}`, [now]);
    return decision!;
  }

  /** One INCRBY for a batch of hits (their arrival times) on one window's counter. */
  private async count(redisKey: string, hits: readonly number[]): Promise<RateDecision[]> {
    const count = await this.incrBy(redisKey, hits.length);
    return hits.map((now, i) => {
      const own = count - hits.length + 1 + i;
      const windowEnd = (Math.floor(now / this.windowMs) + 1) * this.windowMs;
      const retryAfterS = Math.max(1, Math.ceil((windowEnd - now) / 1000));
      return { allowed: own <= this.limit, retryAfterS, remaining: Math.max(0, this.limit - own) };
    });
  }

  private async incrBy(redisKey: string, n: number): Promise<number> {
    const args = [HIT_SHA, 1, redisKey, n, this.windowMs] as const;
    try {
      return Number(await this.redis.evalsha(...args));
    } catch (err) {
      // First use on this Redis (or after SCRIPT FLUSH / a restart): send the script itself once.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return Number(await this.redis.eval(HIT_SCRIPT, 1, redisKey, n, this.windowMs));
    }
  }
}

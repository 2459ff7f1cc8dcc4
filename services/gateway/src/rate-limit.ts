import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

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

interface PendingHit {
  now: number;
  resolve: (decision: RateDecision) => void;
  reject: (err: unknown) => void;
}

/**
 * A fixed-window counter in Redis: at most `limit` hits per key per `windowMs`, shared by every
 * gateway replica. Coarse at window edges (up to 2x in a burst across a boundary), which is fine
 * for protecting the queue from a looping webhook sender.
 *
 * Hits on one window's counter that arrive while a round trip for that counter is in flight are
 * sent together as one INCRBY n when it returns. That is the same as n INCRs applied back to
 * back: the counter moves by n atomically, hit i of the group is decided on the count it brought
 * the counter to (new count - n + 1 + i), and every hit counts, allowed or not, as before. Nothing
 * is decided locally: the limit stays exact across replicas; a hit waits at most one extra round
 * trip. (One Lua command instead of a MULTI also avoids building an ioredis Pipeline per hit, which
 * copies every script BullMQ defined on the shared connection.)
 */
export class FixedWindowLimiter {
  /** Per window counter: hits waiting for the next round trip, and whether one is in flight. */
  private readonly counters = new Map<string, { waiting: PendingHit[]; inFlight: boolean }>();

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  hit(key: string, now = Date.now()): Promise<RateDecision> {
    const window = Math.floor(now / this.windowMs);
    const redisKey = `${this.keyPrefix}:${key}:${window}`;
    return new Promise((resolve, reject) => {
      let counter = this.counters.get(redisKey);
      if (!counter) {
        counter = { waiting: [], inFlight: false };
        this.counters.set(redisKey, counter);
      }
      counter.waiting.push({ now, resolve, reject });
      if (!counter.inFlight) void this.flush(redisKey, window, counter);
    });
  }

  private async flush(redisKey: string, window: number, counter: { waiting: PendingHit[]; inFlight: boolean }): Promise<void> {
    counter.inFlight = true;
    while (counter.waiting.length > 0) {
      const hits = counter.waiting;
      counter.waiting = [];
      try {
        const count = await this.incrBy(redisKey, hits.length);
        hits.forEach((hit, i) => {
          const own = count - hits.length + 1 + i;
          const retryAfterS = Math.max(1, Math.ceil(((window + 1) * this.windowMs - hit.now) / 1000));
          hit.resolve({ allowed: own <= this.limit, retryAfterS, remaining: Math.max(0, this.limit - own) });
        });
      } catch (err) {
        for (const hit of hits) hit.reject(err);
      }
    }
    counter.inFlight = false;
    this.counters.delete(redisKey);
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

import type { Redis } from 'ioredis';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the current window ends (for Retry-After). */
  retryAfterS: number;
  remaining: number;
}

/**
 * A fixed-window counter in Redis (INCR + PEXPIRE in one MULTI): at most `limit` hits per key
 * per `windowMs`, shared by every gateway replica. Coarse at window edges (up to 2x in a burst
 * across a boundary), which is fine for protecting the queue from a looping webhook sender.
 */
export class FixedWindowLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  async hit(key: string, now = Date.now()): Promise<RateDecision> {
    const window = Math.floor(now / this.windowMs);
    const redisKey = `${this.keyPrefix}:${key}:${window}`;
    const results = await this.redis.multi().incr(redisKey).pexpire(redisKey, this.windowMs).exec();
    const first = results?.[0];
    if (!first || first[0]) throw first?.[0] ?? new Error('rate limiter: empty MULTI reply');
    const count = Number(first[1]);
    const retryAfterS = Math.max(1, Math.ceil(((window + 1) * this.windowMs - now) / 1000));
    return { allowed: count <= this.limit, retryAfterS, remaining: Math.max(0, this.limit - count) };
  }
}

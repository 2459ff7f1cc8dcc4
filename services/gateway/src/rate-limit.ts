import { createHash } from 'node:crypto';
import type { RedisConnection } from '@octo-sync/jobs';
import { KeyedGroupCommit } from '@octo-sync/platform';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the current window ends (for Retry-After). */
  retryAfterS: number;
  remaining: number;
}

/**
 * Takes each cost of ARGV[3..] from the key's current window in turn: a cost that fits is counted
 * and answered with the new count, one that does not is answered -1 and not counted (a refused
 * call spends nothing). The window opens at the key's first hit and lasts ARGV[2] ms (the key's
 * TTL); the first element of the answer is the time left in it. One command, so it is atomic
 * across every gateway replica.
 */
const TAKE_SCRIPT = `local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then
  -- No window yet, or one in its last millisecond (PTTL 0): a new window starts now.
  -- (A refund, a negative cost, never takes a count below 0: into a new window it is a no-op.)
  ttl = tonumber(ARGV[2])
  count = 0
end
local limit = tonumber(ARGV[1])
local start = count
local out = {ttl}
for i = 3, #ARGV do
  local cost = tonumber(ARGV[i])
  if count + cost <= limit then
    count = math.max(0, count + cost)
    out[#out + 1] = count
  else
    out[#out + 1] = -1
  end
end
if count ~= start then redis.call('SET', KEYS[1], count, 'PX', ttl) end
return out`;
const TAKE_SHA = createHash('sha1').update(TAKE_SCRIPT).digest('hex');

/**
 * A fixed-window budget in Redis: at most `limit` units (calls, slot changes) per key per
 * `windowMs`, shared by every gateway replica. Each key's window opens at its first hit (not at a
 * wall-clock boundary, so keys do not all reset at once). A request that would exceed it is
 * refused whole and spends nothing. Coarse at window edges (up to 2x in a burst across two
 * windows), which is fine for protecting the queue from a looping webhook sender.
 *
 * Requests on one key's counter that arrive while a round trip for that counter is in flight
 * are sent together when it returns (a {@link KeyedGroupCommit} per counter): the script decides
 * them in arrival order, exactly as if each had been sent alone. Nothing is decided locally: the
 * limit stays exact across replicas. (One Lua command instead of a MULTI also avoids building an
 * ioredis Pipeline per request, which copies every script BullMQ defined on the shared connection.)
 */
export class FixedWindowLimiter {
  private readonly counters: KeyedGroupCommit<number, RateDecision>;

  constructor(
    private readonly redis: RedisConnection,
    /** The Redis key of a budget's counter (one key per script call: any slot will do). */
    private readonly keyOf: (key: string) => string,
    readonly limit: number,
    readonly windowMs: number,
  ) {
    this.counters = new KeyedGroupCommit((redisKey, requests) => this.take(redisKey, requests), Number.MAX_SAFE_INTEGER);
  }

  /** Spends `cost` units of `key`'s budget if they fit; otherwise spends nothing. */
  async hit(key: string, cost = 1): Promise<RateDecision> {
    const [decision] = await this.counters.submit(this.keyOf(key), [cost]);
    return decision!;
  }

  /** One script call for a batch of requests on one key's counter. */
  private async take(redisKey: string, costs: readonly number[]): Promise<RateDecision[]> {
    const [leftMs, ...counts] = await this.evaluate(redisKey, costs);
    const retryAfterS = Math.max(1, Math.ceil(leftMs! / 1000));
    return counts.map((count) => ({ allowed: count >= 0, retryAfterS, remaining: count >= 0 ? this.limit - count : 0 }));
  }

  private async evaluate(redisKey: string, costs: readonly number[]): Promise<number[]> {
    const args = [redisKey, this.limit, this.windowMs, ...costs] as const;
    try {
      return ((await this.redis.evalsha(TAKE_SHA, 1, ...args)) as number[]).map(Number);
    } catch (err) {
      // First use on this Redis (or after SCRIPT FLUSH / a restart): send the script itself once.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return ((await this.redis.eval(TAKE_SCRIPT, 1, ...args)) as number[]).map(Number);
    }
  }
}

/** Client addresses remembered as blocked at most (a flood from many addresses cannot grow memory). */
const BLOCKED_ADDRESSES_MAX = 10_000;

/**
 * Failed webhook authentications (wrong secret, unknown or made-up id) per client address. Every
 * failure is counted in Redis (shared by the replicas); once an address is over the limit, this
 * process remembers it until its window ends, so checking costs no round trip on the hot path.
 * Successful calls never count: a reservation platform sending for many suppliers from a few
 * addresses is only limited by its failures.
 */
export class FailedAuthGuard {
  private readonly blockedUntil = new Map<string, number>();

  constructor(private readonly failures: FixedWindowLimiter) {}

  /** Seconds until `address` may fail again, or undefined when it is not blocked. */
  blockedFor(address: string, now = Date.now()): number | undefined {
    const until = this.blockedUntil.get(address);
    if (until === undefined) return undefined;
    if (until > now) return Math.max(1, Math.ceil((until - now) / 1000));
    this.blockedUntil.delete(address);
    return undefined;
  }

  /** Counts one failure of `address`. */
  async failed(address: string, now = Date.now()): Promise<void> {
    const decision = await this.failures.hit(address, 1);
    if (decision.allowed) return;
    if (this.blockedUntil.size >= BLOCKED_ADDRESSES_MAX) this.blockedUntil.delete(this.blockedUntil.keys().next().value as string);
    this.blockedUntil.set(address, now + decision.retryAfterS * 1000);
  }
}

import { LuaScript, shardedKey, type RedisConnection } from '@octo-sync/jobs';
import { KeyedGroupCommit } from '@octo-sync/platform';

/** The keys of one gateway budget (`name`), each counter in its key's own slot (integration or client address), so they spread over a cluster. */
export function rateKeys(prefix: string, name: string): (key: string) => string {
  return (key) => shardedKey(prefix, `gateway:rate:${name}`, key);
}

/** What a budget answers for one request. */
export interface RateDecision {
  allowed: boolean;
  /** Seconds until the request would fit (a refused one), for Retry-After; at least 1. */
  retryAfterS: number;
}

/** A budget in Redis that spends units per key: a request that does not fit is refused whole and spends nothing. */
export interface Budget {
  /** Spends `cost` units of `key`'s budget if they all fit; otherwise spends nothing. */
  take(key: string, cost: number): Promise<RateDecision>;
  /** Gives back `cost` units taken earlier (a call refused after it spent). */
  refund(key: string, cost: number): Promise<void>;
  /** How the budget reads in a 429's message (`at most …`). */
  readonly description: string;
}

/**
 * Takes each cost of ARGV[3..] from the key's current window in turn: a cost that fits is counted
 * and answered with the new count, one that does not is answered -1 and not counted (a refused
 * call spends nothing). The window opens at the key's first hit and lasts ARGV[2] ms (the key's
 * TTL); the first element of the answer is the time left in it. One command, so it is atomic
 * across every gateway replica.
 */
const TAKE_SCRIPT = new LuaScript(`local count = tonumber(redis.call('GET', KEYS[1]) or '0')
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
return out`);

/**
 * A budget kept by one Lua script per Redis key. Requests on one key that arrive while a round trip
 * for that key is in flight are sent together when it returns (a {@link KeyedGroupCommit} per
 * key): the script decides them in arrival order, exactly as if each had been sent alone. Nothing
 * is decided locally: the budget stays exact across replicas. (One Lua command instead of a MULTI
 * also avoids building an ioredis Pipeline per request, which copies every script BullMQ defined
 * on the shared connection.)
 */
abstract class ScriptedBudget implements Budget {
  private readonly batches = new KeyedGroupCommit<number, RateDecision>((redisKey, costs) => this.evaluate(redisKey, costs), Number.MAX_SAFE_INTEGER);
  abstract readonly description: string;

  constructor(
    protected readonly redis: RedisConnection,
    /** The Redis key of a budget's state (one key per script call: any slot will do). */
    private readonly keyOf: (key: string) => string,
  ) {}

  async take(key: string, cost: number): Promise<RateDecision> {
    const [decision] = await this.batches.submit(this.keyOf(key), [cost]);
    return decision!;
  }

  async refund(key: string, cost: number): Promise<void> {
    await this.batches.submit(this.keyOf(key), [-cost]);
  }

  /** One script call deciding a batch of costs on one key, in order. */
  protected abstract evaluate(redisKey: string, costs: readonly number[]): Promise<RateDecision[]>;
}

/**
 * A fixed-window budget in Redis: at most `limit` units (calls, failures) per key per
 * `windowMs`, shared by every gateway replica. Each key's window opens at its first hit (not at a
 * wall-clock boundary, so keys do not all reset at once). A request that would exceed it is
 * refused whole and spends nothing. Coarse at window edges (up to 2x in a burst across two
 * windows), which is fine for protecting the queue from a looping webhook sender.
 */
export class FixedWindowLimiter extends ScriptedBudget {
  readonly description: string;

  constructor(
    redis: RedisConnection,
    keyOf: (key: string) => string,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    super(redis, keyOf);
    this.description = `${limit} per ${windowMs / 1000} s`;
  }

  protected async evaluate(redisKey: string, costs: readonly number[]): Promise<RateDecision[]> {
    const [leftMs, ...counts] = await TAKE_SCRIPT.run(this.redis, redisKey, [this.limit, this.windowMs, ...costs]);
    const retryAfterS = Math.max(1, Math.ceil(leftMs! / 1000));
    return counts.map((count) => ({ allowed: count >= 0, retryAfterS }));
  }
}

/**
 * A token bucket kept as its "theoretical arrival time" (GCRA): the Redis clock's time, in µs,
 * at which the bucket is full again. A cost of n moves it n intervals later; it fits when the
 * bucket would then still hold no more than `burst` intervals of debt, and otherwise the answer
 * is the µs until it would fit (0: taken). A negative cost is a refund (never past a full bucket).
 * ARGV: burst (units), interval (µs per unit), then the costs, decided in order.
 * The time is Redis's own (`TIME`), so every gateway replica agrees on it whatever its clock.
 */
const BUCKET_SCRIPT = new LuaScript(`local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local burst = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tat = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local start = tat
local out = {}
for i = 3, #ARGV do
  local cost = tonumber(ARGV[i])
  local after = tat + cost * interval
  if cost < 0 then
    tat = math.max(now, after)
    out[#out + 1] = 0
  elseif after - now <= burst * interval then
    tat = after
    out[#out + 1] = 0
  else
    out[#out + 1] = math.ceil(after - now - burst * interval)
  end
end
if tat ~= start then
  if tat > now then
    redis.call('SET', KEYS[1], string.format('%.0f', math.ceil(tat)), 'PX', math.ceil((tat - now) / 1000))
  else
    redis.call('DEL', KEYS[1])
  end
end
return out`);

/**
 * A token bucket in Redis, refilled continuously: at most `burst` units at once, then `limit`
 * per `windowMs`, spread evenly. A request that does not fit is refused whole, spends nothing,
 * and is told how long until all of it fits. Shared by every gateway replica (one atomic script,
 * on Redis's clock); concurrent requests on one key are sent together ({@link ScriptedBudget}).
 * An idle key expires once its bucket is full again.
 */
export class TokenBucketLimiter extends ScriptedBudget {
  /** µs for one unit to refill. */
  private readonly intervalUs: number;
  readonly description: string;

  constructor(
    redis: RedisConnection,
    keyOf: (key: string) => string,
    private readonly burst: number,
    limit: number,
    windowMs: number,
  ) {
    super(redis, keyOf);
    this.intervalUs = (windowMs * 1000) / limit;
    this.description = `${burst} at once, then ${limit} per ${windowMs / 1000} s`;
  }

  protected async evaluate(redisKey: string, costs: readonly number[]): Promise<RateDecision[]> {
    const waits = await BUCKET_SCRIPT.run(this.redis, redisKey, [this.burst, this.intervalUs, ...costs]);
    return waits.map((waitUs) => ({ allowed: waitUs === 0, retryAfterS: Math.max(1, Math.ceil(waitUs / 1e6)) }));
  }
}

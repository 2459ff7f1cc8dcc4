import { randomUUID } from 'node:crypto';
import { shardedKey } from './keyspace';
import { LuaScript } from './lua-script';
import type { RedisConnection } from './redis';

/** A supplier's request budget as its integration sets it (`supplier_budget`). */
export interface BudgetSettings {
  requestsPerSecond: number;
  concurrency: number;
}

/** How the shared budget slows down and for how long leases live. */
export interface SupplierBudgetOptions {
  /** A lease not released after this long is dropped (its worker died): above any call's total timeout. */
  leaseTtlMs: number;
  /** After a throttled answer, the rate stays lowered this long past the resume time. */
  slowForMs: number;
  /** Backoff after a throttled answer without `Retry-After`: base × 2^(throttles in a row − 1), capped. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /**
   * The longest a throttled answer may hold the supplier's calls (`THROTTLE_MAX_MS`): a hostile or
   * mistaken `Retry-After` of days must not freeze every call to that supplier for days.
   */
  maxHoldMs: number;
}

/** A permit to call the supplier (release it when the call ends), or how long to wait before asking again. */
export type Permit = { granted: true; lease: string } | { granted: false; waitMs: number; slowed: boolean };

// Every script reads Redis's own clock, so workers whose clocks disagree share one budget.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: state hash, leases zset. ARGV: rate, concurrency, lease id, lease ttl. Returns {granted, wait ms, slowed}.
// The bucket holds one second of the (possibly lowered) rate; nothing is spent unless both rate and concurrency allow.
const ACQUIRE = new LuaScript(`${NOW}
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'resume', 'slow_until', 'factor')
local resume = tonumber(s[3]) or 0
if now < resume then return {0, resume - now, 1} end
local factor = 1
if now < (tonumber(s[4]) or 0) then factor = tonumber(s[5]) or 1 end
local rate = tonumber(ARGV[1]) * factor
local burst = math.max(1, rate)
local at = tonumber(s[2]) or now
local tokens = math.min(burst, (tonumber(s[1]) or burst) + math.max(0, now - at) * rate / 1000)
local slowed = 0
if factor < 1 then slowed = 1 end
if tokens < 1 then return {0, math.ceil((1 - tokens) * 1000 / rate), slowed} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return {0, 50, slowed} end
redis.call('HSET', KEYS[1], 'tokens', tokens - 1, 'at', now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], 3600000)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
return {1, 0, 0}`);

// KEYS: state hash. ARGV: Retry-After in ms (-1: none), slow-for ms, backoff base, backoff max, max hold.
// Halves the rate (down to 1/16) until slow-for past the resume time; returns ms until the resume time.
// The resume time is at most the max hold away, whatever the supplier asked (or asked before).
// The wait is at least the backoff base: a `Retry-After: 0` (or a date past) must not turn a
// throttling supplier into a tight retry loop, and makes every throttled answer a counted wait.
const THROTTLE = new LuaScript(`${NOW}
local s = redis.call('HMGET', KEYS[1], 'resume', 'slow_until', 'factor', 'strikes')
local factor, strikes = 1, 0
if now < (tonumber(s[2]) or 0) then
  factor = tonumber(s[3]) or 1
  strikes = tonumber(s[4]) or 0
end
strikes = strikes + 1
local wait = tonumber(ARGV[1])
if wait < 0 then wait = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ (strikes - 1)) end
wait = math.max(wait, tonumber(ARGV[3]))
local resume = math.min(math.max(tonumber(s[1]) or 0, now + wait), now + tonumber(ARGV[5]))
redis.call('HSET', KEYS[1], 'resume', resume, 'slow_until', resume + tonumber(ARGV[2]), 'factor', math.max(factor / 2, 0.0625),
  'strikes', strikes, 'tokens', 1, 'at', resume)
redis.call('PEXPIRE', KEYS[1], math.max(3600000, resume - now + tonumber(ARGV[2])))
return resume - now`);

// KEYS: share bucket, state hash. ARGV: the share's rate, the calls to spend. Granted at once or
// never: when a token is there, all the calls are spent (the bucket may go into debt), so the
// share bounds the calls made over time whatever each grant costs.
const TAKE_SHARE = new LuaScript(`${NOW}
if now < (tonumber(redis.call('HGET', KEYS[2], 'resume')) or 0) then return 0 end
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local rate = tonumber(ARGV[1])
local burst = math.max(1, rate)
local tokens = math.min(burst, (tonumber(s[1]) or burst) + math.max(0, now - (tonumber(s[2]) or now)) * rate / 1000)
if tokens < 1 then return 0 end
redis.call('HSET', KEYS[1], 'tokens', tokens - tonumber(ARGV[2]), 'at', now)
redis.call('PEXPIRE', KEYS[1], 3600000)
return 1`);

/**
 * One request budget per supplier, shared by every worker through Redis: a token bucket for the
 * rate and a set of leases (each with an expiry) for the concurrency, each step one Lua script
 * (atomic; its keys share the integration's hash tag, so it runs on Redis Cluster too). A
 * throttled answer lowers the rate and holds every call until the supplier's resume time.
 */
export class SupplierBudget {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly options: SupplierBudgetOptions,
  ) {}

  /** One call's permit, or the wait before asking again (`slowed`: the budget is held or lowered by throttling). */
  async permit(integrationId: string, settings: BudgetSettings): Promise<Permit> {
    const lease = randomUUID();
    const keys = [this.key(integrationId, 'state'), this.key(integrationId, 'leases')];
    const [granted, waitMs, slowed] = (await ACQUIRE.call(this.redis, keys, [settings.requestsPerSecond, settings.concurrency, lease, this.options.leaseTtlMs])) as number[];
    return granted === 1 ? { granted: true, lease } : { granted: false, waitMs: Math.max(1, Number(waitMs)), slowed: slowed === 1 };
  }

  /** Gives a permit's concurrency back. */
  async release(integrationId: string, lease: string): Promise<void> {
    await this.redis.zrem(this.key(integrationId, 'leases'), lease);
  }

  /** The supplier throttled a call: lower its rate and hold its calls (at most `maxHoldMs`); resolves with the ms until they resume. */
  async throttled(integrationId: string, retryAfterMs: number | undefined): Promise<number> {
    const { slowForMs, backoffBaseMs, backoffMaxMs, maxHoldMs } = this.options;
    const wait = retryAfterMs === undefined ? -1 : Math.max(0, Math.round(retryAfterMs));
    return Number(await THROTTLE.call(this.redis, [this.key(integrationId, 'state')], [wait, slowForMs, backoffBaseMs, backoffMaxMs, maxHoldMs]));
  }

  /**
   * `calls` supplier calls from a capped share (0..1) of the supplier's rate, at once or not at all
   * (false, also while the supplier is throttling us): for calls that must never crowd out the
   * rest, such as read-triggered pulls (`FRESH_READ_BUDGET_SHARE`). A grant may overdraw the
   * share; the next ones wait until it is paid back. Each call itself still takes a {@link permit}.
   */
  async takeShare(integrationId: string, requestsPerSecond: number, share: number, calls: number): Promise<boolean> {
    const rate = requestsPerSecond * share;
    return (await TAKE_SHARE.call(this.redis, [this.key(integrationId, 'share'), this.key(integrationId, 'state')], [rate, calls])) === 1;
  }

  private key(integrationId: string, part: string): string {
    return shardedKey(this.prefix, 'supplier-budget', integrationId, part);
  }
}

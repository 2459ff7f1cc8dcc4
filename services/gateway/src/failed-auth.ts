import { LuaScript, type RedisConnection } from '@octo-sync/jobs';

/**
 * Adds ARGV[1] failures to the key's window, always (failures are facts, not requests: none is
 * refused), and answers the window's total and the ms left in it. The window opens at the key's
 * first failure and lasts ARGV[2] ms (the key's TTL). One command, so it is atomic across every
 * gateway replica.
 */
const FAILURES_SCRIPT = new LuaScript(`local total = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  -- A new key (or one left without a TTL): its window starts now.
  ttl = tonumber(ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {total, ttl}`);

/** What Redis holds for one address after failures were added. */
export interface FailureTally {
  /** Failures in the address's current window, every gateway's. */
  total: number;
  /** Ms left in that window. */
  leftMs: number;
}

/** Failures per key in fixed windows of `windowMs` in Redis, shared by every gateway replica. */
export class FailureCounter {
  constructor(
    private readonly redis: RedisConnection,
    /** The Redis key of a key's counter. */
    private readonly keyOf: (key: string) => string,
    private readonly windowMs: number,
  ) {}

  /** Adds `count` failures of `key` and answers its window's total. */
  async add(key: string, count: number): Promise<FailureTally> {
    const [total, leftMs] = await FAILURES_SCRIPT.run(this.redis, this.keyOf(key), [count, this.windowMs]);
    return { total: total!, leftMs: leftMs! };
  }
}

/** Client addresses remembered as blocked at most (a flood from many addresses cannot grow memory). */
const BLOCKED_ADDRESSES_MAX = 10_000;
/** (address, integration) pairs remembered as having authenticated, at most; the oldest go first. */
const REACHED_PAIRS_MAX = 20_000;

/**
 * Failed webhook authentications (wrong secret, unknown or made-up id) per client address. Each
 * failure is counted in this process and added to Redis's count (shared by the replicas) in the
 * background, every failure of one address that arrived while the previous call was in flight in
 * one call: a refused webhook waits for no round trip, and no failure is left uncounted however
 * many arrive at once. Once the shared count is over the limit, this process remembers the
 * address until its window ends, so checking costs no round trip either. So this gateway blocks
 * an address once the call carrying the failure that crossed the limit returns (at most two round
 * trips after that failure: the call in flight, then its own), and a gateway that had not seen the
 * address fail blocks it as soon as its own first failure from it is counted.
 *
 * A blocked address may still call the integrations it has itself authenticated to on this
 * gateway (address and id together): a reservation platform sending for many suppliers from a
 * few addresses is not cut off by one bad sender among them, and an attacker gains nothing from
 * ids that others use. Successful calls never count.
 */
export class FailedAuthGuard {
  private readonly blockedUntil = new Map<string, number>();
  private readonly reached = new Set<string>();
  private pending = new Map<string, number>();
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly failures: FailureCounter,
    /** Failures per window past which an address is blocked. */
    private readonly limit: number,
    /** Where a failed count is reported (it is dropped: the limit is a guard, not a ledger). */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Seconds until `address` may call `id` again, or undefined when it may now. */
  blockedFor(address: string, id: string, now = Date.now()): number | undefined {
    const until = this.blockedUntil.get(address);
    if (until === undefined) return undefined;
    if (until <= now) {
      this.blockedUntil.delete(address);
      return undefined;
    }
    return this.reached.has(pairOf(address, id)) ? undefined : Math.max(1, Math.ceil((until - now) / 1000));
  }

  /** Remembers that `address` authenticated to `id`. */
  succeeded(address: string, id: string): void {
    const pair = pairOf(address, id);
    if (this.reached.has(pair)) return;
    if (this.reached.size >= REACHED_PAIRS_MAX) this.reached.delete(this.reached.values().next().value as string);
    this.reached.add(pair);
  }

  /** Counts one failure of `address` (sent to Redis in the background). */
  failed(address: string): void {
    this.pending.set(address, (this.pending.get(address) ?? 0) + 1);
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const batch = this.pending;
        this.pending = new Map();
        await Promise.all([...batch].map(([address, count]) => this.send(address, count)));
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async send(address: string, count: number): Promise<void> {
    try {
      const { total, leftMs } = await this.failures.add(address, count);
      if (total <= this.limit) return;
      if (this.blockedUntil.size >= BLOCKED_ADDRESSES_MAX) this.blockedUntil.delete(this.blockedUntil.keys().next().value as string);
      this.blockedUntil.set(address, Date.now() + Math.max(1, leftMs));
    } catch (err) {
      this.onError(err);
    }
  }
}

function pairOf(address: string, id: string): string {
  return `${address} ${id}`;
}

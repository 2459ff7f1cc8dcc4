import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AppError, type Logger } from '@octo-sync/platform';
import { LuaScript } from './lua-script';
import type { RedisConnection } from './redis';

/** Tags the gateways of one deployment can hold at once: a receive key's last three digits. */
export const RECEIVE_TAGS = 1000;

/** How long a lease lives unless renewed (renewed every third of it). */
const DEFAULT_TTL_MS = 30_000;
/** How soon a gateway holding no tag tries again. */
const RETRY_MS = 500;
/** How long the first lease waits for a connection still being made (start-up; Redis may be down). */
const CONNECT_WAIT_MS = 2_000;

/** No receive tag is held (all taken at start-up, or the lease lapsed): this gateway cannot stamp a change. */
export class ReceiveTagUnavailableError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('RECEIVE_TAG_UNAVAILABLE', message, options);
  }
}

// Renews the lease when this owner holds it, takes it back when it lapsed and nobody took it:
// 1; another gateway holds it: 0. One key, so it runs on a Redis Cluster too.
const RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`);

const RELEASE = new LuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);

/**
 * One key per tag, plus the counter searches start from: deployment-wide keys, so under the
 * prefix's own tag as worker heartbeats are (`{octo-sync}:…` on a cluster). Every command here
 * touches one key, so the slot they share is only a matter of keeping the keyspace's layout.
 */
function tagKey(prefix: string, tag: number | 'next'): string {
  return `${prefix}:gateway:receive-tag:${tag}`;
}

interface Granted {
  tag: number;
  /** performance.now() when the SET that granted it was sent. */
  at: number;
}

/** Tries every tag once, from the shared counter's next value, until one is free. */
async function takeTag(redis: RedisConnection, prefix: string, owner: string, ttlMs: number): Promise<Granted> {
  const start = (await redis.incr(tagKey(prefix, 'next'))) % RECEIVE_TAGS;
  for (let i = 0; i < RECEIVE_TAGS; i++) {
    const tag = (start + i) % RECEIVE_TAGS;
    const at = performance.now();
    if ((await redis.set(tagKey(prefix, tag), owner, 'PX', ttlMs, 'NX')) === 'OK') return { tag, at };
  }
  throw new ReceiveTagUnavailableError(`all ${RECEIVE_TAGS} receive tags are held by live gateways`);
}

/**
 * The replica tag of this gateway's receive keys, leased from Redis so that no two live gateways
 * hold the same one: a key per tag, taken with SET NX (the search starts at a shared counter, so
 * gateways starting together rarely try the same tag), renewed every third of its lifetime, and
 * read through {@link tag}, which throws until a tag is held and once the lease has lapsed (Redis
 * unreachable for a whole lifetime, or this process stalled that long), so a tag another gateway
 * may hold by then is never stamped. A renewal that finds its tag taken leases another one.
 * Uniqueness across gateways holds within the clock-skew bound the README states, not beyond it:
 * a tag that lapses and is taken by another gateway whose clock is behind this one's can stamp a
 * key this gateway already stamped (same microsecond, same tag) when the skew is larger than the
 * time between this gateway's last stamp and the other's first.
 */
export class ReceiveTagLease {
  private readonly owner = randomUUID();
  private current: number | undefined;
  /** Until when (performance.now()) the tag is surely held: when the granting command was sent, plus the lifetime. */
  private validUntil = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private renewing: Promise<void> = Promise.resolve();
  /** Settles once the first attempt to lease a tag has ended, held or not (start-up waits for it; Redis may be down). */
  readonly firstAttempt: Promise<void>;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly ttlMs = DEFAULT_TTL_MS,
  ) {
    this.firstAttempt = connected(redis, Math.min(ttlMs, CONNECT_WAIT_MS)).then(() => this.renewOnce());
  }

  /** This gateway's tag (0–999) while the lease holds; else throws {@link ReceiveTagUnavailableError}. */
  tag(): number {
    if (this.current === undefined || performance.now() >= this.validUntil) {
      throw new ReceiveTagUnavailableError('this gateway holds no receive tag (Redis unreachable); retry shortly');
    }
    return this.current;
  }

  /** Stops renewing and frees the tag (a clean shutdown). */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.firstAttempt;
    await this.renewing;
    if (this.current !== undefined) await RELEASE.call(this.redis, [tagKey(this.prefix, this.current)], [this.owner]);
  }

  /**
   * One renewal (or lease), never two at once; then the next one: a third of the lifetime later
   * while a tag is held, sooner while none is. A failure is logged and the next one tries again.
   */
  private renewOnce(): Promise<void> {
    this.renewing = this.renewing.then(async () => {
      try {
        await this.renewOrTake();
      } catch (err) {
        this.log.warn({ err: err instanceof Error ? err.message : String(err), receiveTag: this.current }, 'receive tag lease failed; retrying');
      }
      if (this.stopped) return;
      const holding = performance.now() < this.validUntil;
      this.timer = setTimeout(() => void this.renewOnce(), Math.max(1, Math.floor(holding ? this.ttlMs / 3 : Math.min(this.ttlMs / 3, RETRY_MS))));
      this.timer.unref();
    });
    return this.renewing;
  }

  private async renewOrTake(): Promise<void> {
    const at = performance.now();
    if (this.current !== undefined && (await RENEW.call(this.redis, [tagKey(this.prefix, this.current)], [this.owner, this.ttlMs])) === 1) {
      this.validUntil = at + this.ttlMs;
      return;
    }
    const lost = this.current;
    const granted = await takeTag(this.redis, this.prefix, this.owner, this.ttlMs);
    this.current = granted.tag;
    this.validUntil = granted.at + this.ttlMs;
    if (lost === undefined) this.log.info({ receiveTag: granted.tag }, 'receive tag leased');
    else this.log.warn({ lostTag: lost, receiveTag: granted.tag }, 'receive tag taken by another gateway after a lapse; leased another');
  }
}

/** Resolves once `redis` is ready, or after `boundMs` (the lease then retries on its own). */
function connected(redis: RedisConnection, boundMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(bound);
      redis.off('ready', done);
      resolve();
    };
    const bound = setTimeout(done, boundMs);
    bound.unref();
    redis.once('ready', done);
  });
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { LuaScript, shardedKey, type RedisConnection } from '@octo-sync/jobs';
import type { GatewayConfig, JwtSettings } from '../config';
import type { Principal } from '../request-context';

/** A signed-in browser: who it is, its CSRF token, and when the JWT it signed in with expires. */
export interface PageSession {
  principal: Principal;
  csrfToken: string;
  /** The JWT's `exp` (Unix seconds): the session never outlives the token that opened it. */
  exp: number;
}

const storedSchema = z.object({
  sub: z.string(),
  role: z.enum(['partner', 'admin', 'reader']),
  csrf: z.string(),
  exp: z.number(),
  verifier: z.string(),
});

/** At most this many live sessions per `sub` and area: signing in again drops the oldest. */
export const SESSIONS_PER_SUB = 20;

/**
 * Indexes a session (ARGV[2]) under its opening time (ARGV[1], ms), kept strictly after the
 * newest one's: sessions opened in the same millisecond (or while the clock steps back) still
 * rank in the order they were opened, so the cap always drops the oldest. Renews the index's TTL
 * (ARGV[3] s); answers the hashes past the newest ARGV[4] (the sessions to drop).
 */
const INDEX_SCRIPT = new LuaScript(`local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local score = tonumber(ARGV[1])
if newest[2] ~= nil and tonumber(newest[2]) >= score then score = tonumber(newest[2]) + 1 end
redis.call('ZADD', KEYS[1], score, ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('ZRANGE', KEYS[1], 0, -tonumber(ARGV[4]) - 1)`);

const randomToken = () => randomBytes(32).toString('base64url');
const sha256 = (value: string | Buffer) => createHash('sha256').update(value).digest('hex');

/**
 * What the JWTs are verified with (key, algorithms, issuer, audience), as a hash: a session
 * opened under other settings (a rotated key, a new issuer) is refused, as its JWT would be.
 */
function verifierFingerprint(jwt: JwtSettings): string {
  const key = jwt.verifyKey.type === 'secret' ? jwt.verifyKey.export() : jwt.verifyKey.export({ type: 'spki', format: 'der' });
  return sha256(Buffer.concat([key, Buffer.from(JSON.stringify([jwt.algorithms, jwt.issuer ?? null, jwt.audience ?? null]))]));
}

/**
 * The server side of the page sessions (portal or console), in Redis: the cookie carries a random
 * id only, never the JWT. Keys are the id's SHA-256, so a Redis dump holds no usable cookie. Each
 * read renews the idle expiry; a session whose JWT has expired, or that was opened under other
 * JWT settings, is refused (and dropped). Each `sub` has an index of its sessions (a sorted set by
 * opening time, kept as long as the longest JWT may live), which caps them and ends them all at once.
 */
export class PageSessions {
  private readonly verifier: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly options: { prefix: string; area: string; idleS: number; jwt: JwtSettings },
  ) {
    this.verifier = verifierFingerprint(options.jwt);
  }

  private key(hash: string): string {
    return shardedKey(this.options.prefix, `gateway:session:${this.options.area}`, hash);
  }

  private index(sub: string): string {
    return shardedKey(this.options.prefix, `gateway:sessions-of:${this.options.area}`, sha256(sub));
  }

  /**
   * Opens a session for the principal of a verified JWT, expiring with it (the id is the cookie's
   * value), and drops the sub's oldest past {@link SESSIONS_PER_SUB}.
   */
  async open(principal: Principal, token: string): Promise<{ id: string; session: PageSession }> {
    const { exp } = jwt.decode(token) as { exp: number };
    const id = randomToken();
    const session = { principal, csrfToken: randomToken(), exp };
    const stored = { sub: principal.sub, role: principal.role, csrf: session.csrfToken, exp, verifier: this.verifier };
    const index = this.index(principal.sub);
    await this.redis.set(this.key(sha256(id)), JSON.stringify(stored), 'EX', this.options.idleS);
    const dropped = (await INDEX_SCRIPT.call(this.redis, [index], [Date.now(), sha256(id), this.options.jwt.maxTtlS, SESSIONS_PER_SUB])) as string[];
    await this.drop(index, dropped);
    return { id, session };
  }

  private async drop(index: string, hashes: string[]): Promise<void> {
    if (hashes.length === 0) return;
    await Promise.all(hashes.map((hash) => this.redis.del(this.key(hash))));
    await this.redis.zrem(index, ...hashes);
  }

  /** The live session of a cookie id, its idle expiry renewed; undefined when there is none. */
  async read(id: string | undefined): Promise<PageSession | undefined> {
    if (id === undefined || id === '' || id.length > 128) return undefined;
    const raw = await this.redis.getex(this.key(sha256(id)), 'EX', this.options.idleS);
    if (raw === null) return undefined;
    const stored = storedSchema.safeParse(JSON.parse(raw));
    if (!stored.success || stored.data.exp <= Date.now() / 1000 || stored.data.verifier !== this.verifier) {
      await this.redis.del(this.key(sha256(id)));
      return undefined;
    }
    const { sub, role, csrf, exp } = stored.data;
    return { principal: { sub, role }, csrfToken: csrf, exp };
  }

  /** Ends a session (sign-out); a missing one is already ended. */
  async revoke(id: string, sub?: string): Promise<void> {
    await this.redis.del(this.key(sha256(id)));
    if (sub !== undefined) await this.redis.zrem(this.index(sub), sha256(id));
  }

  /** Ends every session of one `sub` (its credentials were revoked). */
  async revokeAll(sub: string): Promise<void> {
    const index = this.index(sub);
    await this.drop(index, await this.redis.zrange(index, 0, -1));
  }
}

/** The sessions of one area (`portal`, `console`: the console's also open the queue dashboard). */
export function areaSessions(redis: RedisConnection, config: GatewayConfig, area: 'portal' | 'console'): PageSessions {
  return new PageSessions(redis, { prefix: config.queuePrefix, area, idleS: config.pageSessionIdleS, jwt: config.jwt });
}

/** Whether the request's `X-CSRF-Token` is the session's, compared in constant time. */
export function csrfMatches(session: PageSession, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(session.csrfToken);
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

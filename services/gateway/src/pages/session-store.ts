import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { shardedKey, type RedisConnection } from '@octo-sync/jobs';
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
});

const randomToken = () => randomBytes(32).toString('base64url');

/**
 * The server side of the page sessions (portal or console), in Redis: the cookie carries a random
 * id only, never the JWT. Keys are the id's SHA-256, so a Redis dump holds no usable cookie. Each
 * read renews the idle expiry; a session whose JWT has expired is refused (and dropped).
 */
export class PageSessions {
  constructor(
    private readonly redis: RedisConnection,
    private readonly options: { prefix: string; area: string; idleS: number },
  ) {}

  private key(id: string): string {
    return shardedKey(this.options.prefix, `gateway:session:${this.options.area}`, createHash('sha256').update(id).digest('hex'));
  }

  /** Opens a session; the id is the cookie's value. */
  async open(principal: Principal, exp: number): Promise<{ id: string; session: PageSession }> {
    const id = randomToken();
    const session = { principal, csrfToken: randomToken(), exp };
    const stored = { sub: principal.sub, role: principal.role, csrf: session.csrfToken, exp };
    await this.redis.set(this.key(id), JSON.stringify(stored), 'EX', this.options.idleS);
    return { id, session };
  }

  /** The live session of a cookie id, its idle expiry renewed; undefined when there is none. */
  async read(id: string | undefined): Promise<PageSession | undefined> {
    if (id === undefined || id === '' || id.length > 128) return undefined;
    const raw = await this.redis.getex(this.key(id), 'EX', this.options.idleS);
    if (raw === null) return undefined;
    const stored = storedSchema.safeParse(JSON.parse(raw));
    if (!stored.success || stored.data.exp <= Date.now() / 1000) {
      await this.revoke(id);
      return undefined;
    }
    const { sub, role, csrf, exp } = stored.data;
    return { principal: { sub, role }, csrfToken: csrf, exp };
  }

  /** Ends a session (sign-out); a missing one is already ended. */
  async revoke(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }
}

/** Whether the request's `X-CSRF-Token` is the session's, compared in constant time. */
export function csrfMatches(session: PageSession, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(session.csrfToken);
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

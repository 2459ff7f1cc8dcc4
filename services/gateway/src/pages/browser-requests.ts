import type { Request } from 'express';

/**
 * One cookie of a `Cookie` header, or undefined when it is not there. A name sent twice reads as
 * no cookie at all: another site (a sibling subdomain, a plain-http page) may toss in a cookie of
 * the same name with a broader path, and neither copy can be told from the other.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  const found = (header ?? '')
    .split(';')
    .map((part) => part.trim().split('='))
    .filter(([key]) => key === name);
  return found.length === 1 ? found[0]!.slice(1).join('=') : undefined;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * A `Set-Cookie` value that sets (or, with `maxAgeS` 0, clears) a session cookie: HttpOnly,
 * SameSite=Strict, scoped to `path`, and `Secure` unless the request came over plain http to a
 * loopback host (`npm start` on http://localhost): anywhere else it would travel in clear.
 */
export function sessionCookie(req: Request, cookie: { name: string; path: string; value: string; maxAgeS?: number }): string {
  const secure = req.secure || !LOOPBACK.has(req.hostname) ? '; Secure' : '';
  const lifetime = cookie.maxAgeS === undefined ? '' : `; Max-Age=${cookie.maxAgeS}`;
  return `${cookie.name}=${cookie.value}; Path=${cookie.path}${lifetime}; HttpOnly; SameSite=Strict${secure}`;
}

/** The methods that change nothing: no cookie-authenticated call of these needs an origin check. */
export const isSafeMethod = (req: Request) => req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';

/**
 * Whether a browser sent this request from one of our own pages. A cookie rides along whatever
 * page made the browser send it, so every state-changing call that a cookie authenticates asks
 * this first. `Sec-Fetch-Site` (which no script can set) decides when the browser sends it;
 * otherwise `Origin` must be this gateway's own origin (scheme and host as `TRUST_PROXY` lets
 * Express see them).
 */
export function sameOrigin(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  return req.get('origin') === `${req.protocol}://${req.get('host') ?? ''}`;
}

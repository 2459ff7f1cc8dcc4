import type { Request } from 'express';

/** One cookie of a `Cookie` header, or undefined when it is not there. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

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

import type { Request } from 'express';
import { ApiError } from '../errors';
import type { AuthSteps } from '../route';
import { cookieScope, type PageArea } from './page-areas';
import { cookieValue, isSafeMethod, sameOrigin } from './browser-requests';
import { csrfMatches, type PageSession, type PageSessions } from './session-store';

/** The live session of the request's cookie (its idle expiry renewed), or 401. */
export async function requireSession(area: PageArea, sessions: PageSessions, req: Request): Promise<PageSession> {
  const session = await sessions.read(cookieValue(req.get('cookie'), cookieScope(area).name));
  if (!session) throw new ApiError('UNAUTHENTICATED', [`cookie: no live ${area.name} session; sign in with POST /${area.name}/session`]);
  return session;
}

/**
 * A state-changing call (anything but GET, HEAD, OPTIONS) must come from our own pages
 * (`Sec-Fetch-Site`/`Origin`) and, once signed in, carry the session's `X-CSRF-Token`.
 */
export function checkStateChange(req: Request, session?: PageSession): void {
  if (isSafeMethod(req)) return;
  if (!sameOrigin(req)) throw new ApiError('CROSS_ORIGIN_REFUSED', ['origin: a call that changes state must come from this site’s own pages']);
  if (session && !csrfMatches(session, req.get('x-csrf-token'))) {
    throw new ApiError('CSRF_TOKEN_INVALID', ['x-csrf-token: missing or not this session’s token (it is in the answer of POST or GET /session)']);
  }
}

/**
 * The documented routes' auth steps with the principal taken from the page session instead of
 * the Authorization header; the route's roles and every handler's ownership checks still apply.
 */
export function sessionSteps(area: PageArea, sessions: PageSessions, base: AuthSteps): AuthSteps {
  return {
    ...base,
    jwt: async (req, roles) => {
      const session = await requireSession(area, sessions, req);
      req.principal = session.principal;
      req.log.setBindings({ sub: session.principal.sub, role: session.principal.role, page: area.name });
      if (!roles.includes(session.principal.role)) throw new ApiError('FORBIDDEN', [`role: this endpoint is for role ${roles.join(' or ')}`]);
      checkStateChange(req, session);
    },
  };
}

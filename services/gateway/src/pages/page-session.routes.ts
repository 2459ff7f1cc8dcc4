import express, { type Request, type Response, type Router } from 'express';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import type { Principal } from '../request-context';
import { ApiError } from '../errors';
import { formatIssues, friendlyErrors } from '../validation';
import { cookieName, type PageArea } from './page-areas';
import { checkStateChange, requireSession } from './page-auth';
import { cookieValue } from './browser-requests';
import type { PageSession, PageSessions } from './session-store';

const signInSchema = z.object({ token: z.string().min(1).max(8192) }).strict();

/** The session answer: who is signed in, and the token its state-changing calls must send. */
function sessionAnswer(res: Response, session: PageSession): void {
  res.status(200).json({ partner: session.principal, csrfToken: session.csrfToken });
}

function setCookie(res: Response, req: Request, area: PageArea, value: string, clear = false): void {
  const lifetime = clear ? '; Max-Age=0' : '';
  res.setHeader('Set-Cookie', `${cookieName(area)}=${value}; Path=/${area.name}${lifetime}; HttpOnly; SameSite=Strict${req.secure ? '; Secure' : ''}`);
}

/** The JWT (as pasted: trimmed), verified exactly as the API verifies a bearer token; errors name the body's field. */
function verifyToken(verify: (authorization: string) => Principal, token: string): { principal: Principal; exp: number } {
  try {
    const principal = verify(`Bearer ${token}`);
    return { principal, exp: (jwt.decode(token) as { exp: number }).exp };
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    throw new ApiError('UNAUTHENTICATED', err.details.map((d) => d.replace(/^authorization:/, 'token:')), { cause: err });
  }
}

/**
 * `POST /{area}/session` (a JWT for a server-side session and its cookie), `GET` (the session
 * again, renewing its idle expiry), `DELETE` (sign-out: the session is revoked, the cookie cleared).
 */
export function sessionRoutes(router: Router, area: PageArea, sessions: PageSessions, verify: (authorization: string) => Principal): void {
  const path = `/${area.name}/session`;
  router.use(path, (_req, res, next) => {
    res.locals.route = path;
    next();
  });
  router.post(path, express.json({ limit: 16 * 1024, strict: true }), async (req, res) => {
    checkStateChange(req);
    const body = signInSchema.safeParse(req.body ?? {}, { error: friendlyErrors });
    if (!body.success) throw new ApiError('VALIDATION_FAILED', formatIssues(body.error.issues, 'body'));
    const { principal, exp } = verifyToken(verify, body.data.token.trim());
    if (!area.roles.includes(principal.role)) throw new ApiError('FORBIDDEN', [`role: the ${area.name} is for role ${area.roles.join(' or ')}`]);
    const previous = cookieValue(req.get('cookie'), cookieName(area));
    if (previous !== undefined) await sessions.revoke(previous);
    const { id, session } = await sessions.open(principal, exp);
    req.log.info({ sub: principal.sub, role: principal.role, page: area.name }, 'page session opened');
    setCookie(res, req, area, id);
    sessionAnswer(res, session);
  });
  router.get(path, async (req, res) => {
    sessionAnswer(res, await requireSession(area, sessions, req));
  });
  router.delete(path, async (req, res) => {
    const session = await requireSession(area, sessions, req);
    checkStateChange(req, session);
    await sessions.revoke(cookieValue(req.get('cookie'), cookieName(area))!);
    req.log.info({ sub: session.principal.sub, page: area.name }, 'page session revoked');
    setCookie(res, req, area, '', true);
    res.status(204).end();
  });
}

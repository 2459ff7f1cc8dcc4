import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Principal } from '../request-context';
import { ApiError } from '../errors';
import type { Budget } from '../rate-limit';
import { formatIssues, friendlyErrors } from '../validation';
import { cookieScope, type PageArea } from './page-areas';
import { checkStateChange, requireSession } from './page-auth';
import { cookieValue, sessionCookie } from './browser-requests';
import type { PageSession, PageSessions } from './session-store';

const signInSchema = z.object({ token: z.string().min(1).max(8192) }).strict();

/** The session answer: who is signed in (`partner`: the principal, an admin's too), and the token its state-changing calls must send. */
function sessionAnswer(res: Response, session: PageSession): void {
  res.status(200).json({ partner: session.principal, csrfToken: session.csrfToken });
}

/** Sets the area's cookie (and the one of the pages it opens) to a session id; `undefined` clears them. */
function setCookies(res: Response, req: Request, area: PageArea, id: string | undefined): void {
  for (const scope of [cookieScope(area), ...(area.opens ? [area.opens] : [])]) {
    res.append('Set-Cookie', sessionCookie(req, { ...scope, value: id ?? '', ...(id === undefined ? { maxAgeS: 0 } : {}) }));
  }
}

/** The JWT (as pasted: trimmed), verified exactly as the API verifies a bearer token; errors name the body's field. */
function verifyToken(verify: (authorization: string) => Principal, token: string): Principal {
  try {
    return verify(`Bearer ${token}`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    throw new ApiError('UNAUTHENTICATED', err.details.map((d) => d.replace(/^authorization:/, 'token:')), { cause: err });
  }
}

/** Spends one sign-in of `key`'s budget; 429 with `Retry-After` past it. */
async function spendSignIn(limiter: Budget, key: string, what: string): Promise<void> {
  const rate = await limiter.take(key, 1);
  if (!rate.allowed) {
    throw new ApiError('RATE_LIMITED', [`${what}: at most ${limiter.description} sign-ins`], { headers: { 'Retry-After': String(rate.retryAfterS) } });
  }
}

export interface SessionRouteDeps {
  sessions: PageSessions;
  verify: (authorization: string) => Principal;
  /** Sign-ins per client address and per `sub` (each opens a session in Redis). */
  signIns: { perAddress: Budget; perSub: Budget };
}

/**
 * `POST /{area}/session` (a JWT for a server-side session and its cookie), `GET` (the session
 * again, renewing its idle expiry), `DELETE` (sign-out: the session is revoked, the cookie cleared,
 * and with the console's the queue dashboard's too).
 */
export function sessionRoutes(router: Router, area: PageArea, { sessions, verify, signIns }: SessionRouteDeps): void {
  const path = `/${area.name}/session`;
  const cookieOf = (req: Request) => cookieValue(req.get('cookie'), cookieScope(area).name);
  router.use(path, (_req, res, next) => {
    res.locals.route = path;
    next();
  });
  router.post(path, express.json({ limit: 16 * 1024, strict: true }), async (req, res) => {
    checkStateChange(req);
    await spendSignIn(signIns.perAddress, `${area.name}:${req.ip ?? ''}`, 'address');
    const body = signInSchema.safeParse(req.body ?? {}, { error: friendlyErrors });
    if (!body.success) throw new ApiError('VALIDATION_FAILED', formatIssues(body.error.issues, 'body'));
    const token = body.data.token.trim();
    const principal = verifyToken(verify, token);
    if (!area.roles.includes(principal.role)) throw new ApiError('FORBIDDEN', [`role: the ${area.name} is for role ${area.roles.join(' or ')}`]);
    await spendSignIn(signIns.perSub, `${area.name}:${principal.sub}`, 'sub');
    const previous = cookieOf(req);
    if (previous !== undefined) await sessions.revoke(previous);
    const { id, session } = await sessions.open(principal, token);
    req.log.info({ sub: principal.sub, role: principal.role, page: area.name }, 'page session opened');
    setCookies(res, req, area, id);
    sessionAnswer(res, session);
  });
  router.get(path, async (req, res) => {
    sessionAnswer(res, await requireSession(area, sessions, req));
  });
  router.delete(path, async (req, res) => {
    const session = await requireSession(area, sessions, req).catch((err: unknown) => {
      // An ended session still leaves its cookie behind: clear it with the 401.
      setCookies(res, req, area, undefined);
      throw err;
    });
    checkStateChange(req, session);
    await sessions.revoke(cookieOf(req)!, session.principal.sub);
    req.log.info({ sub: session.principal.sub, page: area.name }, 'page session revoked');
    setCookies(res, req, area, undefined);
    res.status(204).end();
  });
}

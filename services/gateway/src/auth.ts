import jwt from 'jsonwebtoken';
import type { Request } from 'express';
import { isStorableText } from '@octo-sync/platform';
import type { JwtSettings } from './config';
import { ApiError } from './errors';
import type { Principal } from './request-context';

const BEARER = /^Bearer[ ]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;
const CHALLENGE = { 'WWW-Authenticate': 'Bearer' };

function unauthenticated(detail: string, cause?: unknown): ApiError {
  return new ApiError('UNAUTHENTICATED', [`authorization: ${detail}`], { cause, headers: CHALLENGE });
}

/**
 * Verifies partner/admin JWTs: algorithms pinned by configuration (so `alg: none` and HS/RS
 * confusion are refused by jsonwebtoken itself), `exp` required, `iss`/`aud` when configured,
 * a small clock tolerance, and the `sub`/`role` claims this API needs.
 */
export function createJwtVerifier(settings: JwtSettings): (authorization: string | undefined) => Principal {
  const options: jwt.VerifyOptions & { complete?: false } = {
    algorithms: settings.algorithms,
    clockTolerance: settings.clockToleranceS,
    ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
    ...(settings.audience === undefined ? {} : { audience: settings.audience }),
  };
  return (authorization) => {
    if (authorization === undefined || authorization === '') throw unauthenticated('a Bearer token is required');
    const match = BEARER.exec(authorization);
    if (!match?.[1]) throw unauthenticated('must be "Bearer <JWT>"');
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(match[1], settings.verifyKey, options);
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) throw unauthenticated('token has expired', err);
      if (err instanceof jwt.NotBeforeError) throw unauthenticated('token is not valid yet', err);
      if (err instanceof jwt.JsonWebTokenError) throw unauthenticated('token is invalid', err);
      throw err;
    }
    if (typeof payload === 'string') throw unauthenticated('token is invalid');
    if (typeof payload.exp !== 'number') throw unauthenticated('token must carry an exp claim');
    if (payload.exp - Date.now() / 1000 > settings.maxTtlS) throw unauthenticated(`token must expire within ${settings.maxTtlS} s (JWT_MAX_TTL_S)`);
    const { sub, role } = payload as { sub?: unknown; role?: unknown };
    if (typeof sub !== 'string' || sub === '' || sub.length > 255 || !isStorableText(sub)) {
      throw unauthenticated('token must carry a sub claim (the partner id, printable text)');
    }
    if (role !== 'partner' && role !== 'admin' && role !== 'reader') throw unauthenticated('token must carry role "partner", "admin" or "reader"');
    return { sub, role };
  };
}

/** The verified caller of a JWT route (set by the route's auth step). */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new Error('principalOf called on a route without JWT auth');
  return req.principal;
}

/** Options for {@link signToken}. */
export interface SignOptions {
  role: Principal['role'];
  sub: string;
  /** Seconds or a vercel/ms string such as "1h". */
  ttl: string | number;
}

/** Mints a token with the configured HS* key (development and tests). */
export function signToken(settings: JwtSettings, { role, sub, ttl }: SignOptions): string {
  const algorithm = settings.algorithms[0];
  if (!settings.signKey || algorithm === undefined || !algorithm.startsWith('HS')) {
    throw new Error('minting tokens needs an HS* configuration (JWT_SECRET); with JWT_PUBLIC_KEY use your identity provider');
  }
  return jwt.sign({ role }, settings.signKey, {
    algorithm,
    subject: sub,
    expiresIn: ttl as jwt.SignOptions['expiresIn'],
    ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
    ...(settings.audience === undefined ? {} : { audience: settings.audience }),
  });
}

import express, { type RequestHandler, type Router } from 'express';
import type { RedisConnection } from '@octo-sync/jobs';
import { createJwtVerifier } from '../auth';
import type { GatewayConfig } from '../config';
import { FixedWindowLimiter, rateKeys } from '../rate-limit';
import { mountRoute, type AuthSteps, type RouteSpec } from '../route';
import { pageHeaders } from '../security-headers';
import { CONSOLE, PAGE_SOURCES, PORTAL, type PageArea } from './page-areas';
import { sessionSteps } from './page-auth';
import { sessionRoutes } from './page-session.routes';
import { pageAssets } from './page-assets';
import { shellRoutes } from './page-shell';
import { areaSessions } from './session-store';

export interface PagesDeps {
  config: GatewayConfig;
  /** The producer-role connection: sessions live in Redis, shared by every gateway. */
  redis: RedisConnection;
  /** The documented routes; each area's `/api` mounts its share of them. */
  routes: readonly RouteSpec[];
  /** The API's auth steps (the pages replace the JWT step with their session). */
  auth: AuthSteps;
}

/** Session and API answers are per user and may show a secret: never stored by a cache. */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** Sign-ins (`POST /{area}/session`) per client address and per `sub`, each in a one-minute window. */
const SIGN_INS_PER_ADDRESS = 30;
const SIGN_INS_PER_SUB = 10;

function signInLimiter(deps: PagesDeps, name: string, limit: number): FixedWindowLimiter {
  return new FixedWindowLimiter(deps.redis, rateKeys(deps.config.queuePrefix, name), limit, 60_000);
}

/** Whether the pages' `/api` serves a documented route: not a sub-application, not a bearer-only one. */
const servedByPages = (spec: RouteSpec, area: PageArea) => spec.mount === undefined && spec.bearerOnly !== true && area.routeAuths.includes(spec.auth);

function mountArea(router: Router, area: PageArea, deps: PagesDeps, assets: RequestHandler): void {
  const { config } = deps;
  const sessions = areaSessions(deps.redis, config, area.name);
  router.use(`/${area.name}`, pageHeaders(PAGE_SOURCES));
  router.use([`/${area.name}/api`, `/${area.name}/session`], noStore);
  const signIns = { perAddress: signInLimiter(deps, 'pageSignInAddress', SIGN_INS_PER_ADDRESS), perSub: signInLimiter(deps, 'pageSignInSub', SIGN_INS_PER_SUB) };
  sessionRoutes(router, area, { sessions, verify: createJwtVerifier(config.jwt), signIns });
  const mountDeps = { auth: sessionSteps(area, sessions, deps.auth), defaultBodyLimit: config.bodyLimitBytes };
  for (const spec of deps.routes) {
    if (servedByPages(spec, area)) mountRoute(router, { ...spec, path: `/${area.name}/api${spec.path}` }, mountDeps);
  }
  shellRoutes(router, area, assets);
}

/**
 * The partner portal (`/portal`) and the operator console (`/console`): their HTML shell and
 * built assets, a server-side session per browser, and below `/{area}/api` the documented routes
 * themselves (same specs, handlers and schemas) authenticated by that session.
 */
export function pagesRouter(deps: PagesDeps): Router {
  const router = express.Router({ caseSensitive: true, strict: false });
  // One asset server for both areas: app.css is shared, and each file is compressed once.
  const assets = pageAssets(deps.config.pagesDir);
  for (const area of [PORTAL, CONSOLE]) mountArea(router, area, deps, assets);
  return router;
}

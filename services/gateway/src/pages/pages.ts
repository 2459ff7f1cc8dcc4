import express, { type RequestHandler, type Router } from 'express';
import type { RedisConnection } from '@octo-sync/jobs';
import { createJwtVerifier } from '../auth';
import type { GatewayConfig } from '../config';
import { mountRoute, type AuthSteps, type RouteSpec } from '../route';
import { pageHeaders } from '../security-headers';
import { CONSOLE, PAGE_SOURCES, PORTAL, type PageArea } from './page-areas';
import { sessionSteps } from './page-auth';
import { sessionRoutes } from './page-session.routes';
import { pageAssets } from './page-assets';
import { shellRoutes } from './page-shell';
import { PageSessions } from './session-store';

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

function mountArea(router: Router, area: PageArea, deps: PagesDeps, assets: RequestHandler): void {
  const { config } = deps;
  const sessions = new PageSessions(deps.redis, { prefix: config.queuePrefix, area: area.name, idleS: config.pageSessionIdleS });
  router.use(`/${area.name}`, pageHeaders(PAGE_SOURCES));
  router.use([`/${area.name}/api`, `/${area.name}/session`], noStore);
  sessionRoutes(router, area, sessions, createJwtVerifier(config.jwt));
  const mountDeps = { auth: sessionSteps(area, sessions, deps.auth), defaultBodyLimit: config.bodyLimitBytes };
  for (const spec of deps.routes) {
    if (spec.mount === undefined && area.routeAuths.includes(spec.auth)) mountRoute(router, { ...spec, path: `/${area.name}/api${spec.path}` }, mountDeps);
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

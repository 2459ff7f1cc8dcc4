import { BASE_PATH } from '../paths';
import type { Principal } from '../request-context';
import type { RouteAuth } from '../route';
import type { PageSources } from '../security-headers';

/** A cookie's name and the path it is scoped to. */
export interface CookieScope {
  name: string;
  path: string;
}

/**
 * The queue dashboard's cookie (Bull Board, dashboard.ts): a console session's id, set by the
 * console's sign-in (and by `POST /admin/session`), cleared by its sign-out.
 */
export const DASHBOARD_COOKIE: CookieScope = { name: 'octo_sync_dashboard', path: `${BASE_PATH}/admin/queues/ui` };

/** One set of pages: the partner portal or the operator console. */
export interface PageArea {
  /** Its path (`/portal`), its cookie (`octo_portal`) and its script (`portal.js`). */
  name: 'portal' | 'console';
  title: string;
  /** Who may sign in (403 for any other role). */
  roles: ReadonlyArray<Principal['role']>;
  /** The documented routes its `/api` serves, by their auth: the same specs, the session instead of the header. */
  routeAuths: readonly RouteAuth[];
  /** Other pages its session opens, with a cookie of their own holding the same session id. */
  opens?: CookieScope;
}

/** The partner's pages: its own integration, through the partner routes (ownership checks included). */
export const PORTAL: PageArea = { name: 'portal', title: 'octo-sync partner portal', roles: ['partner'], routeAuths: ['partner', 'jwt'] };

/** The operator's pages: the admin routes, the read routes for one integration's view, and the queue dashboard. */
export const CONSOLE: PageArea = { name: 'console', title: 'octo-sync operator console', roles: ['admin'], routeAuths: ['admin', 'jwt'], opens: DASHBOARD_COOKIE };

export const cookieScope = (area: PageArea): CookieScope => ({ name: `octo_${area.name}`, path: `/${area.name}` });

/**
 * What the pages load: their own scripts, styles, images and API, nothing inline, nothing from
 * another host (the CSP of security-headers.ts adds `default-src 'none'`, no framing, no form posts:
 * the pages submit with `fetch`).
 */
export const PAGE_SOURCES: PageSources = {
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'"],
  'connect-src': ["'self'"],
  'base-uri': ["'none'"],
};

import type { Principal } from '../request-context';
import type { RouteAuth } from '../route';
import type { PageSources } from '../security-headers';

/** One set of pages: the partner portal or the operator console. */
export interface PageArea {
  /** Its path (`/portal`), its cookie (`octo_portal`) and its script (`portal.js`). */
  name: 'portal' | 'console';
  title: string;
  /** Who may sign in (403 for any other role). */
  roles: ReadonlyArray<Principal['role']>;
  /** The documented routes its `/api` serves, by their auth: the same specs, the session instead of the header. */
  routeAuths: readonly RouteAuth[];
}

/** The partner's pages: its own integration, through the partner routes (ownership checks included). */
export const PORTAL: PageArea = { name: 'portal', title: 'octo-sync partner portal', roles: ['partner'], routeAuths: ['partner', 'jwt'] };

/** The operator's pages: the admin routes, and the read routes for one integration's view. */
export const CONSOLE: PageArea = { name: 'console', title: 'octo-sync operator console', roles: ['admin'], routeAuths: ['admin', 'jwt'] };

export const cookieName = (area: PageArea) => `octo_${area.name}`;

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

import type { Express, RequestHandler } from 'express';

/**
 * The one owner of the gateway's security headers: what every answer carries, and what a page
 * (an HTML document a browser renders: the queue dashboard, later the portal) adds. A page states
 * only what it loads; everything else stays refused.
 */

/**
 * Every answer: the content type is what the browser uses (`nosniff`). Mounted first, so error
 * answers, 404s and a mounted library's answers carry it too.
 */
export const answerHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
};

/**
 * Express announces itself (`X-Powered-By: Express`) from every app that does not turn it off,
 * including one mounted inside ours (Bull Board brings its own): call this on each.
 */
export function withoutPoweredBy<T extends Pick<Express, 'disable'>>(app: T): T {
  app.disable('x-powered-by');
  return app;
}

/** What a page may load beyond nothing: CSP source lists by directive (`script-src`, ...). */
export type PageSources = Readonly<Partial<Record<'script-src' | 'style-src' | 'style-src-attr' | 'img-src' | 'font-src' | 'connect-src' | 'base-uri', readonly string[]>>>;

/**
 * A page's Content-Security-Policy: `default-src 'none'` plus the page's own sources; never framed
 * (`frame-ancestors 'none'`), no form posts, no plugins.
 */
function contentSecurityPolicy(sources: PageSources): string {
  const directives: Array<[string, readonly string[]]> = [
    ['default-src', ["'none'"]],
    ...Object.entries(sources).map(([name, list]): [string, readonly string[]] => [name, list ?? []]),
    ['form-action', ["'none'"]],
    ['object-src', ["'none'"]],
    ['frame-ancestors', ["'none'"]],
  ];
  return directives.map(([name, list]) => `${name} ${list.join(' ')}`).join('; ');
}

/**
 * The headers of a page's answers (the document, its assets and its JSON alike): its CSP, and
 * `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`.
 */
export function pageHeaders(sources: PageSources): RequestHandler {
  const policy = contentSecurityPolicy(sources);
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', policy);
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  };
}

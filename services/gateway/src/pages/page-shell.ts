import type { RequestHandler, Router } from 'express';
import type { PageArea } from './page-areas';

/**
 * The one HTML document of an area, whatever its sub-path (the pages route on the client): no
 * inline script or style, so the CSP can refuse both.
 */
function shellHtml(area: PageArea): string {
  const assets = `/${area.name}/assets`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${area.title}</title>`,
    `<link rel="stylesheet" href="${assets}/app.css">`,
    `<script type="module" src="${assets}/${area.name}.js"></script>`,
    '</head>',
    '<body>',
    `<div id="app"></div>`,
    `<noscript>The ${area.title} needs JavaScript.</noscript>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Paths below an area that are not pages: an unknown one answers the JSON 404, not the shell. */
const NOT_PAGES = ['api', 'assets', 'session'];

/**
 * `GET /{area}` and every sub-path that is not its API, assets or session: the shell. The built
 * scripts and styles (`dist/web/`, `PAGES_DIR`, see page-assets.ts) below `/{area}/assets/`.
 */
export function shellRoutes(router: Router, area: PageArea, assets: RequestHandler): void {
  const html = shellHtml(area);
  const label: RequestHandler = (_req, res, next) => {
    res.locals.route = `/${area.name}/assets`;
    next();
  };
  router.use(`/${area.name}/assets`, label, assets);
  router.get(`/${area.name}{/*rest}`, (req, res, next) => {
    const [first] = ((req.params as { rest?: string[] }).rest ?? []);
    if (first !== undefined && NOT_PAGES.includes(first)) {
      next();
      return;
    }
    res.locals.route = `/${area.name}`;
    res.status(200).type('html').setHeader('Cache-Control', 'no-cache').send(html);
  });
}

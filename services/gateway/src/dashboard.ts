import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Express, RequestHandler } from 'express';
import { z } from 'zod';
import type { Db } from '@octo-sync/db';
import { QUEUES, type JobProducer, type QueueName, type RedisConnection } from '@octo-sync/jobs';
import { createJwtVerifier, principalOf } from './auth';
import type { GatewayConfig } from './config';
import { dashboardActions } from './dashboard-actions';
import { ApiError } from './errors';
import { BASE_PATH } from './paths';
import { cookieValue, isSafeMethod, sameOrigin, sessionCookie } from './pages/browser-requests';
import { DASHBOARD_COOKIE } from './pages/page-areas';
import { areaSessions } from './pages/session-store';
import { okEnvelope } from './response-schemas';
import { defineRoute, ok, type AuthSteps, type RouteSpec } from './route';
import { pageHeaders, withoutPoweredBy, type PageSources } from './security-headers';

/** Where the queue dashboard (Bull Board) lives; its session cookie is scoped to this path. */
const DASHBOARD_PATH = DASHBOARD_COOKIE.path;
/**
 * What Bull Board's page loads, and nothing more (the dashboard browser test fails on any other
 * CSP violation, so an upgrade that changes the page shows up there): its scripts, styles,
 * images and JSON from our origin, its `<base href>`, and by hash the few inline styles of
 * @bull-board/ui 9.10.1 (the loading placeholder's `<style>` and five `style` attributes, and the
 * Redis logo's SVG `<style>`). No inline script, no eval. The Google Fonts stylesheet the page
 * links stays refused on purpose (no outside host; system fonts instead).
 */
const DASHBOARD_SOURCES: PageSources = {
  'script-src': ["'self'"],
  'style-src': ["'self'", "'sha256-dv714QSXJBurriRZTklJT4phtgwCe+o7Frxoi2awcdg='", "'sha256-r2N1TB/gHbBtBZFKg7ejmq1acVSREzucTAEw6ga4hoU='"],
  'style-src-attr': [
    "'unsafe-hashes'",
    "'sha256-of39ksKG33VNCYo5/quRg1dhdo2AWSv8WJi2LNKOSTU='",
    "'sha256-dg51HqBfD6n0yW6arUPC/pQLVghRZbOuP0gPg9FhCTw='",
    "'sha256-XtkH5bXSf2qTXVOXBZrUBgydsBjBOqKXas4aSqlrDYQ='",
    "'sha256-4qiUsLv1mhPpLyv14EyMNeEfESFsI8tYHvGHgST5oO4='",
    "'sha256-z865ZzzyqKnk/u5EJq1ujBhzC4S9g1xzvJyr7y3Ut8s='",
  ],
  'img-src': ["'self'"],
  'connect-src': ["'self'"],
  'base-uri': ["'self'"],
};

/**
 * The dashboard's auth step: an admin JWT as a bearer header, or the session cookie (accepted on
 * this path only: no other route reads it), which holds the id of a console session: signing out
 * of the console, or that session expiring, ends it here too. A cookie cannot be chosen by the
 * page that makes a browser send it, so a state-changing call that rides on it must come from our
 * own site (`Sec-Fetch-Site`, else `Origin`: see `sameOrigin`).
 */
export function dashboardStep(config: GatewayConfig, redis: RedisConnection): AuthSteps['dashboard'] {
  const verify = createJwtVerifier(config.jwt);
  const sessions = areaSessions(redis, config, 'console');
  return async (req) => {
    const cookie = req.get('authorization') === undefined ? cookieValue(req.get('cookie'), DASHBOARD_COOKIE.name) : undefined;
    const session = cookie === undefined ? undefined : await sessions.read(cookie);
    if (cookie !== undefined && session === undefined) throw new ApiError('UNAUTHENTICATED', ['cookie: no live console session; sign in to the console again']);
    const principal = session?.principal ?? verify(req.get('authorization'));
    req.principal = principal;
    req.log.setBindings({ sub: principal.sub, role: principal.role });
    if (principal.role !== 'admin') throw new ApiError('FORBIDDEN', ['role: the queue dashboard is for role admin']);
    if (cookie !== undefined && !isSafeMethod(req) && !sameOrigin(req)) {
      throw new ApiError('FORBIDDEN', ['origin: a dashboard action sent with the session cookie must come from the dashboard itself']);
    }
  };
}

/** Bull Board on every queue, served below {@link DASHBOARD_PATH}. */
function bullBoard(producer: JobProducer): RequestHandler {
  const server = new ExpressAdapter();
  server.setBasePath(DASHBOARD_PATH);
  const queues = (Object.keys(QUEUES) as QueueName[]).map((name) => new BullMQAdapter(producer.queue(name)));
  createBullBoard({ queues, serverAdapter: server, options: { uiConfig: { boardTitle: 'octo-sync queues' } } });
  return withoutPoweredBy(server.getRouter() as Express);
}

const ADMIN = ['Admin'];

/** The queue dashboard and the session that lets a browser open it. */
export function dashboardRoutes({ config, db, producer, redis }: { config: GatewayConfig; db: Db; producer: JobProducer; redis: RedisConnection }): RouteSpec[] {
  const sessions = areaSessions(redis, config, 'console');
  const page = pageHeaders(DASHBOARD_SOURCES);
  const actions = dashboardActions({ db, producer });
  const board = bullBoard(producer);
  return [
    defineRoute({
      method: 'post',
      path: `${BASE_PATH}/admin/session`,
      operationId: 'adminDashboardSession',
      summary: 'Exchange an admin JWT for the queue dashboard’s cookie',
      description:
        'Opens a server-side console session (as `POST /console/session` does) and sets the dashboard’s cookie to its random id (never the JWT): HttpOnly, SameSite=Strict, scoped to the dashboard’s path, ' +
        'Secure unless the request came over plain http to a loopback host, expiring with the JWT (and the session after its idle time). ' +
        'Only the dashboard’s routes accept it; every other admin route still needs the bearer header. The console’s sign-in sets the same cookie, and its sign-out clears it.',
      tags: ADMIN,
      auth: 'admin',
      bearerOnly: true,
      responses: { 200: { description: 'The cookie is set.', schema: okEnvelope(z.object({ path: z.string(), expires_at: z.iso.datetime() })) } },
      handler: async ({ req, log }) => {
        const { id, session } = await sessions.open(principalOf(req), (req.get('authorization') ?? '').replace(/^Bearer +/, ''));
        const maxAgeS = Math.max(0, Math.floor(session.exp - Date.now() / 1000));
        log.info({ actor: principalOf(req).sub, maxAgeS }, 'dashboard session opened');
        const cookie = sessionCookie(req, { ...DASHBOARD_COOKIE, value: id, maxAgeS });
        return ok({ path: DASHBOARD_PATH, expires_at: new Date(session.exp * 1000).toISOString() }, 200, { 'Set-Cookie': cookie });
      },
    }),
    defineRoute({
      method: 'get',
      path: DASHBOARD_PATH,
      operationId: 'adminQueueDashboard',
      summary: 'The queue dashboard (Bull Board), for a browser',
      description:
        'An HTML page, and below this path its assets and its JSON API. Of its actions only retrying, removing and promoting one job are offered, each recorded in the integration’s events ' +
        '(`dashboard_job_action`, with the admin’s `sub`) before it is performed (an entry whose action then failed with 409 or 500 stands for an action not performed); obliterate, empty, clean, pause, resume, add and edit answer 403. ' +
        'Admins only: the bearer JWT, or the cookie from `POST /admin/session` or the console’s sign-in (a console session’s id; the console’s sign-out ends it); a state-changing call with the cookie must come from this site (`Sec-Fetch-Site: same-origin`, or this origin in `Origin`).',
      tags: ADMIN,
      auth: 'dashboard',
      responses: { 200: { description: 'The dashboard.', schema: z.string(), contentType: 'text/html' } },
      mount: [page, actions, board],
    }),
  ];
}

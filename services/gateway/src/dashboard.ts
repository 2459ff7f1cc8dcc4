import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Express, RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import type { Db } from '@octo-sync/db';
import { QUEUES, type JobProducer, type QueueName } from '@octo-sync/jobs';
import { createJwtVerifier, principalOf } from './auth';
import type { GatewayConfig } from './config';
import { dashboardActions } from './dashboard-actions';
import { ApiError } from './errors';
import { BASE_PATH } from './paths';
import { cookieValue, sameOrigin } from './pages/browser-requests';
import { okEnvelope } from './response-schemas';
import { defineRoute, ok, type AuthSteps, type RouteSpec } from './route';
import { pageHeaders, withoutPoweredBy, type PageSources } from './security-headers';

/** Where the queue dashboard (Bull Board) lives; its session cookie is scoped to this path. */
const DASHBOARD_PATH = `${BASE_PATH}/admin/queues/ui`;
const COOKIE = 'octo_sync_dashboard';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
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
 * this path only: no other route reads it). A cookie cannot be chosen by the page that makes a
 * browser send it, so a state-changing call that rides on it must come from our own origin.
 */
export function dashboardStep(config: GatewayConfig): AuthSteps['dashboard'] {
  const verify = createJwtVerifier(config.jwt);
  return async (req) => {
    const cookie = req.get('authorization') === undefined ? cookieValue(req.get('cookie'), COOKIE) : undefined;
    const principal = verify(cookie === undefined ? req.get('authorization') : `Bearer ${cookie}`);
    req.principal = principal;
    req.log.setBindings({ sub: principal.sub, role: principal.role });
    if (principal.role !== 'admin') throw new ApiError('FORBIDDEN', ['role: the queue dashboard is for role admin']);
    if (cookie !== undefined && !SAFE_METHODS.has(req.method) && !sameOrigin(req)) {
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
export function dashboardRoutes({ db, producer }: { db: Db; producer: JobProducer }): RouteSpec[] {
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
        'Sets an HttpOnly, SameSite=Strict cookie holding the JWT, scoped to the dashboard’s path (Secure unless the request came over plain http) and expiring with the JWT. ' +
        'Only the dashboard’s routes accept it; every other admin route still needs the bearer header.',
      tags: ADMIN,
      auth: 'admin',
      responses: { 200: { description: 'The cookie is set.', schema: okEnvelope(z.object({ path: z.string(), expires_at: z.iso.datetime() })) } },
      handler: async ({ req, log }) => {
        const token = (req.get('authorization') ?? '').replace(/^Bearer +/, '');
        const exp = (jwt.decode(token) as { exp: number }).exp;
        const maxAge = Math.max(0, Math.floor(exp - Date.now() / 1000));
        const cookie = `${COOKIE}=${token}; Path=${DASHBOARD_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${req.secure ? '; Secure' : ''}`;
        log.info({ actor: principalOf(req).sub, maxAge }, 'dashboard session opened');
        return ok({ path: DASHBOARD_PATH, expires_at: new Date(exp * 1000).toISOString() }, 200, { 'Set-Cookie': cookie });
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
        'Admins only: the bearer JWT, or the cookie from `POST /admin/session`; a state-changing call with the cookie must carry this origin in `Origin`.',
      tags: ADMIN,
      auth: 'dashboard',
      responses: { 200: { description: 'The dashboard.', schema: z.string(), contentType: 'text/html' } },
      mount: [page, actions, board],
    }),
  ];
}

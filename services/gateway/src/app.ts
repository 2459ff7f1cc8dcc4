import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { Db } from '@octo-sync/db';
import { SupplierBudget, type JobProducer, type RedisConnection } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';
import { PullRequests, SyncRequests } from '@octo-sync/runs';
import './request-context';
import { adminRoutes } from './admin.routes';
import { identityRoutes } from './identity.routes';
import { createAdmission } from './admission';
import { createGatewayAuth } from './auth-steps';
import { dashboardRoutes } from './dashboard';
import type { GatewayConfig } from './config';
import { errorMiddleware, notFoundMiddleware } from './errors';
import { eventsRoutes } from './events.routes';
import { createMetrics, type GatewayMetrics } from './metrics';
import { changesRoutes } from './changes.routes';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi';
import { opsRoutes } from './ops.routes';
import { pagesRouter } from './pages/pages';
import { partnerRoutes } from './partner.routes';
import { productRoutes } from './products.routes';
import { FreshReads } from './fresh-read';
import { refreshRoutes } from './availability-refresh.routes';
import { readRoutes } from './read.routes';
import { mountRoute, type RouteSpec } from './route';
import { answerHeaders, withoutPoweredBy } from './security-headers';
import { webhookRoutes } from './webhooks.routes';

export interface AppDeps {
  config: GatewayConfig;
  db: Db;
  producer: JobProducer;
  /** The producer-role Redis connection: readiness and the webhook rate limit use it. */
  redis: RedisConnection;
  /**
   * A Redis connection of its own for pub/sub (a subscribed connection can do nothing else): the
   * gateways tell each other of webhook credential changes on it. The caller closes it.
   */
  subscriber: RedisConnection;
  /** This gateway's receive tag, unique among live gateways (`ReceiveTagLease.tag` in main); throws when none is held. */
  receiveTag: () => number;
  log: Logger;
  metrics?: GatewayMetrics;
}

export interface GatewayApp extends Express {
  locals: Express['locals'] & { routes: readonly RouteSpec[]; openapi: () => OpenApiDocument };
}

// The gateway only takes read-triggered pulls' share of a supplier budget: it holds no call
// leases and is never throttled, so those options of the budget do not apply to it.
const SHARE_ONLY = { leaseTtlMs: 0, slowForMs: 0, backoffBaseMs: 0, backoffMaxMs: 0, maxHoldMs: 0 };

/** Freshness-bounded reads, on this app's database, queues and Redis. */
function freshReads({ config, db, producer, redis }: AppDeps): FreshReads {
  const budget = new SupplierBudget(redis, config.queuePrefix, SHARE_ONLY);
  return new FreshReads({ db, producer, pulls: new PullRequests(db, producer), budget, redis, queuePrefix: config.queuePrefix, settings: config.freshRead });
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id, a child logger per request, and per answer one access line (no bodies, no headers)
 * and one metrics observation, from one `finish` listener.
 */
function requestContext(log: Logger, metrics: GatewayMetrics): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    req.id = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.log = log.child({ reqId: req.id });
    res.setHeader('x-request-id', req.id);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const elapsedNs = Number(process.hrtime.bigint() - start);
      // The route template, never the raw path: ids would explode the label set.
      metrics.observe(req.method, typeof res.locals.route === 'string' ? res.locals.route : 'unmatched', res.statusCode, elapsedNs / 1e9);
      const durationMs = Math.round(elapsedNs / 1e6);
      // A refused webhook's cause rides on its access line (one line per answer, even for floods).
      const refused = res.locals.webhookRefused as string | undefined;
      req.log.info({ method: req.method, path: req.path, status: res.statusCode, durationMs, ...(refused ? { refused } : {}) }, 'request finished');
    });
    next();
  };
}

/**
 * The gateway's Express app, without listening: the partner API, ops endpoints, the OpenAPI
 * document, the portal and console pages, one error middleware. Every dependency is a parameter, so tests build their own.
 */
export function buildApp(deps: AppDeps): GatewayApp {
  const { config, db, producer, redis, log } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const auth = createGatewayAuth({ config, db, redis, subscriber: deps.subscriber, log });
  const requests = new SyncRequests(db, producer);
  const pulls = new PullRequests(db, producer);
  const admit = createAdmission({ settings: config.admission, redis, producer, queuePrefix: config.queuePrefix, observer: metrics.admission, log });
  let document: OpenApiDocument | undefined;
  const openapi = () => (document ??= buildOpenApiDocument(routes));
  // Express tries routes in this order: hot webhooks first (no other route has their shape), static paths (/me, /admin…) before /{id}.
  const routes: RouteSpec[] = [
    ...webhookRoutes({ config, db, producer, requests, spendNotifyBudget: auth.spendNotifyBudget, receiveTag: deps.receiveTag, admit, pulls }),
    ...opsRoutes({ db, redis, queuePrefix: config.queuePrefix, metrics, openapi }),
    ...partnerRoutes({ config, db, producer, redis }),
    ...adminRoutes({ config, db, producer, redis, requests }),
    ...identityRoutes({ db }),
    ...dashboardRoutes({ config, db, producer, redis }),
    ...readRoutes({ db, producer }),
    ...refreshRoutes({ db, producer, pulls, waitMs: config.syncTriggerWaitMs, admit }),
    ...eventsRoutes({ db }),
    ...productRoutes({ db, freshReads: freshReads(deps) }),
    ...changesRoutes({ db }),
  ];

  const app = withoutPoweredBy(express() as unknown as GatewayApp);
  app.set('trust proxy', config.trustProxy);
  app.disable('etag');
  app.use(answerHeaders);
  app.use(requestContext(log, metrics));
  const router = express.Router({ caseSensitive: true, strict: false });
  for (const route of routes) mountRoute(router, route, { auth: auth.steps, defaultBodyLimit: config.bodyLimitBytes });
  app.use(router);
  // After the API: its calls never walk the pages' routes.
  app.use(pagesRouter({ config, redis, routes, auth: auth.steps }));
  app.use(notFoundMiddleware);
  app.use(errorMiddleware);
  app.locals.routes = routes;
  app.locals.openapi = openapi;
  return app;
}

import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { Db } from '@octo-sync/db';
import type { JobProducer } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';
import './request-context';
import { createJwtVerifier } from './auth';
import type { GatewayConfig } from './config';
import { ApiError, errorMiddleware, notFoundMiddleware } from './errors';
import { availabilityRoutes } from './availability.routes';
import { integrationRoutes } from './integrations.routes';
import { createMetrics, type GatewayMetrics } from './metrics';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi';
import { opsRoutes } from './ops.routes';
import { FixedWindowLimiter } from './rate-limit';
import { mountRoute, type AuthSteps, type RouteSpec } from './route';
import { WebhookAuthCache } from './webhook-auth';

export interface AppDeps {
  config: GatewayConfig;
  db: Db;
  producer: JobProducer;
  /** The producer-role Redis connection: readiness and the webhook rate limit use it. */
  redis: Redis;
  log: Logger;
  metrics?: GatewayMetrics;
}

export interface GatewayApp extends Express {
  locals: Express['locals'] & { routes: readonly RouteSpec[]; openapi: () => OpenApiDocument };
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
 * The gateway's Express app, without listening: routes of spec §4, ops endpoints, the OpenAPI
 * document, one error middleware. Every dependency is a parameter, so tests build their own.
 */
export function buildApp(deps: AppDeps): GatewayApp {
  const { config, db, producer, redis, log } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const verify = createJwtVerifier(config.jwt);
  // Availability pushes are far more frequent than catalog triggers: each webhook route has its own budget.
  const webhookLimits: Record<string, number> = { triggerSync: config.webhookRateLimit, notifyAvailability: config.notifyRateLimit };
  const limiters = new Map(
    Object.entries(webhookLimits).map(([operation, limit]) => [
      operation,
      new FixedWindowLimiter(redis, `${config.queuePrefix}:gateway:rate:${operation}`, limit, config.webhookRateWindowMs),
    ]),
  );

  // Shared by both webhook routes; entries are dropped at once when this process changes an integration.
  const webhookAuth = new WebhookAuthCache(db.integrations, { ttlMs: config.webhookAuthCacheMs });

  const auth: AuthSteps = {
    jwt: async (req, roles) => {
      const principal = verify(req.get('authorization'));
      req.principal = principal;
      req.log.setBindings({ sub: principal.sub, role: principal.role });
      if (!roles.includes(principal.role)) throw new ApiError('FORBIDDEN', [`role: this endpoint is for role ${roles.join(' or ')}`]);
    },
    webhook: async (req, res, limitKey) => {
      const raw = req.params.id;
      const id = typeof raw === 'string' ? raw : '';
      const verdict = await webhookAuth.verify(id, req.get('x-webhook-secret'));
      if (!verdict.ok) {
        // Same answer for every cause (no oracle); the cause is only for our logs.
        res.locals.webhookRefused = verdict.why;
        throw new ApiError('WEBHOOK_SECRET_INVALID', ['x-webhook-secret: missing or invalid']);
      }
      const limiter = limiters.get(limitKey);
      if (!limiter) throw new Error(`no rate limit declared for webhook route ${limitKey}`);
      const rate = await limiter.hit(verdict.integration.id);
      if (!rate.allowed) {
        req.log.warn({ integrationId: verdict.integration.id }, 'webhook rate limited');
        throw new ApiError('RATE_LIMITED', [`x-webhook-secret: at most ${webhookLimits[limitKey]} calls of this webhook per ${config.webhookRateWindowMs / 1000} s per integration`], {
          headers: { 'Retry-After': String(rate.retryAfterS) },
        });
      }
      res.locals.webhookIntegration = verdict.integration;
      req.log.setBindings({ integrationId: verdict.integration.id });
    },
  };

  let document: OpenApiDocument | undefined;
  const openapi = () => (document ??= buildOpenApiDocument(routes));
  // Static paths (/me, /admin...) before /{id}: Express matches in registration order.
  // The webhooks are the hot paths: their patterns come first so Express tests them first. No other
  // route has their shape (`/{id}/sync/trigger`, `/{id}/availability/notify`), so order is free.
  const all = [...opsRoutes({ db, redis, metrics, openapi }), ...integrationRoutes({ config, db, producer }), ...availabilityRoutes({ config, db, producer })];
  const routes: RouteSpec[] = [...all.filter((r) => r.auth === 'webhook'), ...all.filter((r) => r.auth !== 'webhook')];

  const app = express() as unknown as GatewayApp;
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(requestContext(log, metrics));
  const router = express.Router({ caseSensitive: true, strict: false });
  for (const route of routes) mountRoute(router, route, { auth, defaultBodyLimit: config.bodyLimitBytes });
  app.use(router);
  app.use(notFoundMiddleware);
  app.use(errorMiddleware);
  app.locals.routes = routes;
  app.locals.openapi = openapi;
  return app;
}

import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { Db } from '@octo-sync/db';
import type { JobProducer } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';
import { SyncRequests } from '@octo-sync/runs';
import './request-context';
import { createJwtVerifier } from './auth';
import type { GatewayConfig } from './config';
import { ApiError, errorMiddleware, notFoundMiddleware } from './errors';
import { availabilityRoutes } from './availability.routes';
import { integrationRoutes } from './integrations.routes';
import { createMetrics, type GatewayMetrics } from './metrics';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi';
import { opsRoutes } from './ops.routes';
import { FailedAuthGuard, FixedWindowLimiter } from './rate-limit';
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
  const limiter = (name: string, limit: number) => new FixedWindowLimiter(redis, `${config.queuePrefix}:gateway:rate:${name}`, limit, config.webhookRateWindowMs);
  // Sync triggers are counted per call as they are authenticated; notify is counted per slot change
  // once its body is valid (availability.routes.ts), so a refused call spends nothing.
  const triggerBudget = limiter('triggerSync', config.webhookRateLimit);
  const notifyBudget = limiter('notifyAvailability', config.notifyRateLimit);
  const failedAuth = new FailedAuthGuard(limiter('failedAuth', config.authFailureLimit));

  // Shared by both webhook routes; entries are dropped at once when this process changes an integration.
  const webhookAuth = new WebhookAuthCache(db.integrations, { ttlMs: config.webhookAuthCacheMs });

  const auth: AuthSteps = {
    jwt: async (req, roles) => {
      const principal = verify(req.get('authorization'));
      req.principal = principal;
      req.log.setBindings({ sub: principal.sub, role: principal.role });
      if (!roles.includes(principal.role)) throw new ApiError('FORBIDDEN', [`role: this endpoint is for role ${roles.join(' or ')}`]);
    },
    webhook: async (req, res, operation) => {
      const raw = req.params.id;
      const id = typeof raw === 'string' ? raw : '';
      const address = req.ip ?? 'unknown';
      // An address that keeps failing may still call integrations it has reached before, but
      // may no longer make us look up ids we have never seen live.
      const waitS = failedAuth.blockedFor(address);
      if (waitS !== undefined && !webhookAuth.hasSeen(id)) {
        res.locals.webhookRefused = 'address';
        throw new ApiError('RATE_LIMITED', [`x-webhook-secret: too many failed webhook authentications from this address; retry in ${waitS} s`], {
          headers: { 'Retry-After': String(waitS) },
        });
      }
      const verdict = await webhookAuth.verify(id, req.get('x-webhook-secret'));
      if (!verdict.ok) {
        await failedAuth.failed(address);
        // Same answer for every cause (no oracle); the cause is only for our logs.
        res.locals.webhookRefused = verdict.why;
        throw new ApiError('WEBHOOK_SECRET_INVALID', ['x-webhook-secret: missing or invalid']);
      }
      if (operation === 'triggerSync') await spend(triggerBudget, verdict.integration.id, 1, 'sync triggers');
      res.locals.webhookIntegration = verdict.integration;
      req.log.setBindings({ integrationId: verdict.integration.id });
    },
  };

  /**
   * Spends `cost` units of an integration's webhook budget, or refuses the call whole with 429;
   * resolves to the refund, for a call that is refused later (a refused call spends nothing).
   */
  const spend = async (budget: FixedWindowLimiter, integrationId: string, cost: number, unit: string): Promise<() => Promise<void>> => {
    const rate = await budget.hit(integrationId, cost);
    if (rate.allowed) return async () => void (await budget.hit(integrationId, -cost));
    throw new ApiError('RATE_LIMITED', [`x-webhook-secret: at most ${budget.limit} ${unit} per ${budget.windowMs / 1000} s per integration; this call needs ${cost}`], {
      headers: { 'Retry-After': String(rate.retryAfterS) },
    });
  };

  let document: OpenApiDocument | undefined;
  const openapi = () => (document ??= buildOpenApiDocument(routes));
  // Static paths (/me, /admin...) before /{id}: Express matches in registration order.
  // The webhooks are the hot paths: their patterns come first so Express tests them first. No other
  // route has their shape (`/{id}/sync/trigger`, `/{id}/availability/notify`), so order is free.
  const all = [...opsRoutes({ db, redis, queuePrefix: config.queuePrefix, metrics, openapi }), ...integrationRoutes({ config, db, producer, redis, requests: new SyncRequests(db, producer) }), ...availabilityRoutes({ config, db, producer, spendNotifyBudget: (integrationId, changes) => spend(notifyBudget, integrationId, changes, 'slot changes') })];
  const routes: RouteSpec[] = [...all.filter((r) => r.auth === 'webhook'), ...all.filter((r) => r.auth !== 'webhook')];

  const app = express() as unknown as GatewayApp;
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
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

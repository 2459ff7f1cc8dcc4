import type { Request, Response } from 'express';
import type { RedisConnection } from '@octo-sync/jobs';
import type { Db, WebhookAuth } from '@octo-sync/db';
import type { Logger } from '@octo-sync/platform';
import { createJwtVerifier } from './auth';
import { dashboardStep } from './dashboard';
import type { GatewayConfig } from './config';
import { CredentialChangeFeed, credentialChannel } from './credential-changes';
import { ApiError } from './errors';
import { FailedAuthGuard, FailureCounter } from './failed-auth';
import { FixedWindowLimiter, rateKeys, TokenBucketLimiter, type Budget } from './rate-limit';
import type { AuthSteps } from './route';
import { WebhookAuthCache } from './webhook-auth';
import { ReplayStore } from './webhook-replay';
import { readSignatureHeaders, signatureMatches, SIGNATURE_TOLERANCE_S, type SignedDelivery } from '@octo-sync/platform';

/**
 * Spends `cost` units of an integration's webhook budget, or refuses the call whole with 429;
 * resolves to the refund, for a call that is refused later (a refused call spends nothing).
 */
export type SpendBudget = (integrationId: string, cost: number) => Promise<() => Promise<void>>;

/** How the app authenticates its routes, and the notify budget its webhook route spends. */
export interface GatewayAuth {
  steps: AuthSteps;
  spendNotifyBudget: SpendBudget;
}

/** What the auth steps are built from; `subscriber` is a Redis connection of its own (pub/sub). */
export interface GatewayAuthDeps {
  config: GatewayConfig;
  db: Db;
  redis: RedisConnection;
  subscriber: RedisConnection;
  log: Logger;
}

/**
 * The JWT and webhook auth steps, with the budgets webhooks spend (shared by every replica
 * through Redis). Sync triggers are counted per call as they are authenticated; notify is
 * counted per slot change once its body is valid (by its route), so a refused call spends nothing.
 */
export function createGatewayAuth({ config, db, redis, subscriber, log }: GatewayAuthDeps): GatewayAuth {
  const keys = (name: string) => rateKeys(config.queuePrefix, name);
  const limiter = (name: string, limit: number) => new FixedWindowLimiter(redis, keys(name), limit, config.webhookRateWindowMs);
  const webhook: WebhookDeps = {
    cache: webhookAuthCache({ config, db, redis, subscriber, log }),
    failedAuth: new FailedAuthGuard(new FailureCounter(redis, keys('failedAuth'), config.webhookRateWindowMs), config.authFailureLimit, (err) =>
      log.warn({ err }, 'could not count failed webhook authentications'),
    ),
    spendTrigger: budget(limiter('triggerSync', config.webhookRateLimit), 'sync triggers'),
    replay: new ReplayStore(redis, { prefix: config.queuePrefix, ttlMs: config.webhookReplayTtlMs, bodyMaxBytes: config.webhookReplayBodyMaxBytes }),
  };
  const notifyBucket = new TokenBucketLimiter(redis, keys('notifyBucket'), config.notifyBurst, config.notifyRateLimit, config.webhookRateWindowMs);
  return {
    steps: { jwt: jwtStep(config), dashboard: dashboardStep(config, redis), webhook: webhookStep(webhook), webhookSignature: signatureStep(webhook), webhookDelivery: deliveryStep(webhook) },
    spendNotifyBudget: budget(notifyBucket, 'slot changes'),
  };
}

/**
 * Shared by both webhook routes. An entry is dropped at once when this process changes its
 * integration, and when another replica announces a change; every replica hears of this one's.
 */
function webhookAuthCache({ config, db, redis, subscriber, log }: GatewayAuthDeps): WebhookAuthCache {
  const cache = new WebhookAuthCache(db.webhookSecrets, { ttlMs: config.webhookAuthCacheMs });
  const feed = new CredentialChangeFeed({ publisher: redis, subscriber, channel: credentialChannel(config.queuePrefix), log });
  feed.listen({ changed: (id) => cache.invalidate(id), resync: () => cache.clear() });
  db.webhookSecrets.onChange((id) => feed.publish(id));
  return cache;
}

function budget(limiter: Budget, unit: string): SpendBudget {
  return async (integrationId, cost) => {
    const rate = await limiter.take(integrationId, cost);
    if (rate.allowed) return () => limiter.refund(integrationId, cost);
    throw new ApiError('RATE_LIMITED', [`x-webhook-secret: at most ${limiter.description} ${unit} per integration; this call needs ${cost}`], {
      headers: { 'Retry-After': String(rate.retryAfterS) },
    });
  };
}

function jwtStep(config: GatewayConfig): AuthSteps['jwt'] {
  const verify = createJwtVerifier(config.jwt);
  return async (req, roles) => {
    const principal = verify(req.get('authorization'));
    req.principal = principal;
    req.log.setBindings({ sub: principal.sub, role: principal.role });
    if (!roles.includes(principal.role)) throw new ApiError('FORBIDDEN', [`role: this endpoint is for role ${roles.join(' or ')}`]);
  };
}

interface WebhookDeps {
  cache: WebhookAuthCache;
  failedAuth: FailedAuthGuard;
  spendTrigger: SpendBudget;
  replay: ReplayStore;
}

const INVALID = ['x-webhook-secret: missing or invalid'];

function idOf(req: Request): string {
  const raw = req.params.id;
  return typeof raw === 'string' ? raw : '';
}

function addressOf(req: Request): string {
  return req.ip ?? 'unknown';
}

/** Every refused webhook: counted against the caller's address, one answer whatever the cause. */
function refuse({ failedAuth }: WebhookDeps, req: Request, res: Response, why: string, error: ApiError): never {
  failedAuth.failed(addressOf(req));
  // The cause is only for our logs.
  res.locals.webhookRefused = why;
  throw error;
}

function admit(deps: WebhookDeps, req: Request, res: Response, verdict: WebhookAuth): void {
  if (!verdict.ok) refuse(deps, req, res, verdict.why, new ApiError('WEBHOOK_SECRET_INVALID', INVALID));
  deps.failedAuth.succeeded(addressOf(req), verdict.integration.id);
  res.locals.webhookIntegration = verdict.integration;
  req.log.setBindings({ integrationId: verdict.integration.id });
}

/**
 * Before the body is read: the failed-auth guard, then either the `x-webhook-secret` check or,
 * for a signed delivery, its headers and timestamp (the signature needs the body: see
 * {@link signatureStep}).
 */
function webhookStep(deps: WebhookDeps): AuthSteps['webhook'] {
  return async (req, res) => {
    const id = idOf(req);
    // An address that keeps failing may still call the integrations it has itself reached
    // before, and nothing else: no lookup, no secret check.
    const waitS = deps.failedAuth.blockedFor(addressOf(req), id);
    if (waitS !== undefined) {
      res.locals.webhookRefused = 'address';
      throw new ApiError('RATE_LIMITED', [`x-webhook-secret: too many failed webhook authentications from this address; retry in ${waitS} s`], {
        headers: { 'Retry-After': String(waitS) },
      });
    }
    const headers = readSignatureHeaders((name) => req.get(name), Math.floor(Date.now() / 1000));
    if (headers.kind === 'unsigned') {
      const proof = { kind: 'secret', presented: req.get('x-webhook-secret') } as const;
      admit(deps, req, res, deps.cache.verifyCached(id, proof) ?? (await deps.cache.verify(id, proof)));
    }
    else if (headers.kind === 'signed') res.locals.signedDelivery = headers.delivery;
    else if (headers.kind === 'malformed') refuse(deps, req, res, 'signature', new ApiError('WEBHOOK_SECRET_INVALID', INVALID));
    else {
      const error = new ApiError('WEBHOOK_TIMESTAMP_OUT_OF_RANGE', [`webhook-timestamp: must be within ${SIGNATURE_TOLERANCE_S} s of now (Unix seconds)`]);
      refuse(deps, req, res, 'timestamp', error);
    }
  };
}

/** A signed delivery's signature, over the exact bytes received, against the integration's keys. */
function signatureStep(deps: WebhookDeps): AuthSteps['webhookSignature'] {
  return async (req, res, body) => {
    const delivery = res.locals.signedDelivery as SignedDelivery;
    const proof = { kind: 'signature', matches: (keys: readonly Buffer[]) => signatureMatches(delivery, body, keys) } as const;
    admit(deps, req, res, deps.cache.verifyCached(idOf(req), proof) ?? (await deps.cache.verify(idOf(req), proof)));
  };
}

/**
 * Answers an authenticated webhook: a signed delivery once per `webhook-id` (a repeat gets the
 * first answer), and spends the sync-trigger budget only for calls that are processed.
 */
function deliveryStep({ replay, spendTrigger }: WebhookDeps): AuthSteps['webhookDelivery'] {
  return async (req, res, route, process) => {
    const integration = res.locals.webhookIntegration as { id: string };
    const run = async () => {
      if (route.operation === 'triggerSync') await spendTrigger(integration.id, 1);
      return process();
    };
    const delivery = res.locals.signedDelivery as SignedDelivery | undefined;
    return delivery === undefined ? run() : replay.deliver(integration.id, delivery.id, route.waitMs, run);
  };
}

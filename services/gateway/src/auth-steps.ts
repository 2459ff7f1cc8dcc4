import type { Redis } from 'ioredis';
import type { Db } from '@octo-sync/db';
import { createJwtVerifier } from './auth';
import type { GatewayConfig } from './config';
import { ApiError } from './errors';
import { FailedAuthGuard, FixedWindowLimiter } from './rate-limit';
import type { AuthSteps } from './route';
import { WebhookAuthCache } from './webhook-auth';

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

/**
 * The JWT and webhook auth steps, with the budgets webhooks spend (shared by every replica
 * through Redis). Sync triggers are counted per call as they are authenticated; notify is
 * counted per slot change once its body is valid (by its route), so a refused call spends nothing.
 */
export function createGatewayAuth({ config, db, redis }: { config: GatewayConfig; db: Db; redis: Redis }): GatewayAuth {
  const limiter = (name: string, limit: number) => new FixedWindowLimiter(redis, `${config.queuePrefix}:gateway:rate:${name}`, limit, config.webhookRateWindowMs);
  // Shared by both webhook routes; entries are dropped at once when this process changes an integration.
  const webhookAuth = new WebhookAuthCache(db.integrations, { ttlMs: config.webhookAuthCacheMs });
  const failedAuth = new FailedAuthGuard(limiter('failedAuth', config.authFailureLimit));
  const spendTrigger = budget(limiter('triggerSync', config.webhookRateLimit), 'sync triggers');
  return {
    steps: { jwt: jwtStep(config), webhook: webhookStep(webhookAuth, failedAuth, spendTrigger) },
    spendNotifyBudget: budget(limiter('notifyAvailability', config.notifyRateLimit), 'slot changes'),
  };
}

function budget(limiter: FixedWindowLimiter, unit: string): SpendBudget {
  return async (integrationId, cost) => {
    const rate = await limiter.hit(integrationId, cost);
    if (rate.allowed) return async () => void (await limiter.hit(integrationId, -cost));
    throw new ApiError('RATE_LIMITED', [`x-webhook-secret: at most ${limiter.limit} ${unit} per ${limiter.windowMs / 1000} s per integration; this call needs ${cost}`], {
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

function webhookStep(webhookAuth: WebhookAuthCache, failedAuth: FailedAuthGuard, spendTrigger: SpendBudget): AuthSteps['webhook'] {
  return async (req, res, operation) => {
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
    if (operation === 'triggerSync') await spendTrigger(verdict.integration.id, 1);
    res.locals.webhookIntegration = verdict.integration;
    req.log.setBindings({ integrationId: verdict.integration.id });
  };
}

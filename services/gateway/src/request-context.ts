import type { Logger } from '@octo-sync/platform';
import type { Request } from 'express';
import type { WebhookIntegration } from './webhook-auth';

/** Who is calling, from a verified JWT. */
export interface Principal {
  sub: string;
  /** `reader`: the change feed and nothing else. */
  role: 'partner' | 'admin' | 'reader';
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express types its Request in a global namespace; this is how it is extended
  namespace Express {
    interface Request {
      /** Request id: the caller's `x-request-id` when it is sane, otherwise a new UUID. */
      id: string;
      /** Child logger carrying the request id (never the body, never credentials). */
      log: Logger;
      principal?: Principal;
    }
  }
}

/** The integration a webhook route's auth step verified (the app keeps it on res.locals). */
export function webhookIntegration(req: Request): WebhookIntegration {
  const integration = req.res?.locals.webhookIntegration as WebhookIntegration | undefined;
  if (!integration) throw new Error('webhook route reached without webhook auth');
  return integration;
}

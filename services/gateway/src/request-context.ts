import type { Logger } from '@octo-sync/platform';

/** Who is calling, from a verified JWT. */
export interface Principal {
  sub: string;
  role: 'partner' | 'admin';
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
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

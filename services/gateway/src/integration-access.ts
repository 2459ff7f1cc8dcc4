import type { Request } from 'express';
import type { Db, Integration } from '@octo-sync/db';
import { principalOf } from './auth';
import { ApiError } from './errors';
import { BASE_PATH } from './paths';

/** The answer for an integration that does not exist, is deleted, or belongs to someone else. */
export const notFound = () => new ApiError('NOT_FOUND', ['integration: not found']);

/** The answer to a partner's `/me` call when that partner has no live integration. */
export const noIntegration = () => new ApiError('NOT_FOUND', ['integration: this partner has no integration; create one with POST ' + BASE_PATH]);

/** Who may reach which live integration: the lookups every integration route starts with. */
export interface IntegrationAccess {
  /** The live integration `id`, if the caller may see it: its owner or an admin; 404 otherwise. */
  visible(req: Request, id: string): Promise<Integration>;
  /** The calling partner's live integration; 404 when there is none. */
  mine(req: Request): Promise<Integration>;
  /** The live integration `id`, for an admin route; 404 when there is none. */
  adminTarget(id: string): Promise<Integration>;
}

/** The lookups, bound to a database. */
export function integrationAccess(db: Db): IntegrationAccess {
  return {
    async visible(req, id) {
      const principal = principalOf(req);
      const integration = await db.integrations.findLive(id);
      // Another partner's id answers exactly like an unknown one: no confirmation that it exists.
      if (!integration || (principal.role !== 'admin' && integration.partnerId !== principal.sub)) throw notFound();
      return integration;
    },
    async mine(req) {
      const integration = await db.integrations.findLiveByPartner(principalOf(req).sub);
      if (!integration) throw noIntegration();
      return integration;
    },
    async adminTarget(id) {
      const integration = await db.integrations.findLive(id);
      if (!integration) throw notFound();
      return integration;
    },
  };
}

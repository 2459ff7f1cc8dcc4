import { AppError, SecretBox } from '@octo-sync/platform';
import { deactivateProducts } from './catalog.store';
import { syncableWhere, type SyncCandidate } from './sync-eligibility';
import type { PrismaClient } from './client';
import type { Integration } from './generated/prisma/client';
import { Prisma } from './generated/prisma/client';
import { generateWebhookSecret, hashWebhookSecret, webhookSecretMatches } from './webhook-secret';

export type { Integration };

export interface NewIntegration {
  partnerId: string;
  baseUrl: string;
  authType: 'bearer' | 'api_key';
  authKey: string;
  handlesTicketDelivery: boolean;
  isApproved?: boolean;
}

/** The fields a partner may change on its integration. */
export interface IntegrationPatch {
  baseUrl?: string;
  authType?: 'bearer' | 'api_key';
  authKey?: string;
  handlesTicketDelivery?: boolean;
}

export type SyncStatusFilter = 'idle' | 'syncing' | 'error';
export type HealthStatusFilter = 'HEALTHY' | 'DEGRADED' | 'DOWN';

/** Filters and page of {@link IntegrationStore.list}; deleted integrations are never listed. */
export interface IntegrationQuery {
  isApproved?: boolean;
  isActive?: boolean;
  syncStatus?: SyncStatusFilter;
  healthStatus?: HealthStatusFilter;
  partnerId?: string;
  /** 1-based. */
  page: number;
  pageSize: number;
}

/** What a webhook's caller is known by once its secret checked out (nothing secret in it). */
export type WebhookIntegration = Pick<Integration, 'id' | 'partnerId' | 'isApproved' | 'isActive'>;

/** Everything the webhook check reads from an integration row, and nothing else. */
export type WebhookCredentials = WebhookIntegration &
  Pick<Integration, 'deletedAt' | 'webhookSecretHash' | 'previousWebhookSecretHash' | 'previousWebhookSecretExpiresAt'>;

/** Why a webhook was refused. Callers answer every kind with the same 401; the kind is for logs. */
export type WebhookAuth = { ok: true; integration: WebhookIntegration } | { ok: false; why: 'unknown' | 'secret' | 'inactive' };

const WEBHOOK_CREDENTIALS = {
  id: true,
  partnerId: true,
  isApproved: true,
  isActive: true,
  deletedAt: true,
  webhookSecretHash: true,
  previousWebhookSecretHash: true,
  previousWebhookSecretExpiresAt: true,
} as const satisfies Prisma.IntegrationSelect;

/**
 * Integrations and their secrets. The supplier credential is sealed with {@link SecretBox} before
 * it is stored and opened only by {@link IntegrationStore.readAuthKey}; the webhook secret is
 * stored as a digest and returned exactly once, by `create` (and by rotation).
 */
export class IntegrationStore {
  private readonly changeListeners = new Set<(id: string) => void>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
  ) {}

  /**
   * Calls `listener` with an integration's id after every change this store commits to it
   * (create, update, soft delete, approval, activity, secret rotation), in this process only.
   * In-process caches (the gateway's webhook-auth cache) drop their entry there. Returns the
   * unsubscribe function.
   */
  onChange(listener: (id: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(id: string): void {
    for (const listener of this.changeListeners) listener(id);
  }

  async create(input: NewIntegration): Promise<{ integration: Integration; webhookSecret: string }> {
    const webhookSecret = generateWebhookSecret();
    try {
      const integration = await this.prisma.integration.create({
        data: {
          partnerId: input.partnerId,
          livePartnerId: input.partnerId,
          baseUrl: input.baseUrl,
          authType: input.authType,
          authKeyEncrypted: this.box.seal(input.authKey),
          handlesTicketDelivery: input.handlesTicketDelivery,
          isApproved: input.isApproved ?? false,
          webhookSecretHash: hashWebhookSecret(webhookSecret).toString('hex'),
        },
      });
      this.changed(integration.id);
      return { integration, webhookSecret };
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw new AppError('INTEGRATION_EXISTS', 'this partner already has a live integration', { cause: err });
      }
      throw err;
    }
  }

  findById(id: string): Promise<Integration | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.prisma.integration.findUnique({ where: { id } });
  }

  /** A live (not deleted) integration by id; null for unknown, malformed and deleted ids. */
  async findLive(id: string): Promise<Integration | null> {
    if (!isUuid(id)) return null;
    return this.prisma.integration.findFirst({ where: { id, deletedAt: null } });
  }

  /** The partner's one live integration, if any. */
  findLiveByPartner(partnerId: string): Promise<Integration | null> {
    return this.prisma.integration.findUnique({ where: { livePartnerId: partnerId } });
  }

  /**
   * Applies a partner's changes to a live integration. A new `baseUrl` (different from the stored
   * one) withdraws the approval: an admin must approve the new target. Returns null when the
   * integration does not exist or is deleted.
   */
  async update(id: string, patch: IntegrationPatch): Promise<Integration | null> {
    if (!isUuid(id)) return null;
    const data: Prisma.IntegrationUpdateManyMutationInput = {};
    if (patch.baseUrl !== undefined) data.baseUrl = patch.baseUrl;
    if (patch.authType !== undefined) data.authType = patch.authType;
    if (patch.authKey !== undefined) data.authKeyEncrypted = this.box.seal(patch.authKey);
    if (patch.handlesTicketDelivery !== undefined) data.handlesTicketDelivery = patch.handlesTicketDelivery;
    const updated = await this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<Array<{ base_url: string }>>`
        SELECT base_url FROM integrations WHERE id = ${id}::uuid AND deleted_at IS NULL FOR UPDATE`;
      if (!row) return null;
      if (patch.baseUrl !== undefined && patch.baseUrl !== row.base_url) data.isApproved = false;
      return tx.integration.update({ where: { id }, data });
    });
    if (updated) this.changed(id);
    return updated;
  }

  /**
   * Soft delete: the integration stops answering webhooks, frees the partner's "one live
   * integration" slot and its products become inactive (one UPDATE); nothing is erased.
   * Returns false when there was no live integration to delete.
   */
  async softDelete(id: string, now = new Date()): Promise<boolean> {
    if (!isUuid(id)) return false;
    const deleted = await this.prisma.$transaction(async (tx) => {
      const rows = await tx.integration.updateMany({
        where: { id, deletedAt: null },
        data: { deletedAt: now, livePartnerId: null },
      });
      if (rows.count === 0) return false;
      await deactivateProducts(tx, id, now);
      return true;
    });
    if (deleted) this.changed(id);
    return deleted;
  }

  /** Sets `isApproved` on a live integration; `changed` says whether it was different before. */
  async setApproved(id: string, approved: boolean): Promise<{ integration: Integration; changed: boolean } | null> {
    return this.setFlag(id, 'isApproved', approved);
  }

  /** Sets `isActive` on a live integration; `changed` says whether it was different before. */
  async setActive(id: string, active: boolean): Promise<{ integration: Integration; changed: boolean } | null> {
    return this.setFlag(id, 'isActive', active);
  }

  private async setFlag(id: string, flag: 'isApproved' | 'isActive', value: boolean): Promise<{ integration: Integration; changed: boolean } | null> {
    if (!isUuid(id)) return null;
    // Conditional update: `changed` is true for exactly one of two concurrent identical calls.
    const updated = await this.prisma.integration.updateMany({ where: { id, deletedAt: null, [flag]: !value }, data: { [flag]: value } });
    if (updated.count === 1) this.changed(id);
    const integration = await this.findLive(id);
    if (!integration) return null;
    return { integration, changed: updated.count === 1 };
  }

  /**
   * The integrations a scheduled sync may run for (the rule of {@link syncRefusal}), oldest id
   * first, each with its newest run queued at or after `since` (null when there is none).
   */
  async scheduleCandidates(since: Date): Promise<Array<SyncCandidate & { id: string; runSince: { id: string; status: string } | null }>> {
    const rows = await this.prisma.integration.findMany({
      where: syncableWhere('schedule'),
      select: {
        id: true,
        isApproved: true,
        isActive: true,
        deletedAt: true,
        healthStatus: true,
        syncRuns: { where: { queuedAt: { gte: since } }, orderBy: { queuedAt: 'desc' }, take: 1, select: { id: true, status: true } },
      },
      orderBy: { id: 'asc' },
    });
    return rows.map(({ syncRuns, ...candidate }) => ({ ...candidate, runSince: syncRuns[0] ?? null }));
  }

  /** Live integrations, newest first, filtered and paginated. */
  async list(query: IntegrationQuery): Promise<{ items: Integration[]; totalCount: number }> {
    const where: Prisma.IntegrationWhereInput = { deletedAt: null };
    if (query.isApproved !== undefined) where.isApproved = query.isApproved;
    if (query.isActive !== undefined) where.isActive = query.isActive;
    if (query.syncStatus !== undefined) where.syncStatus = query.syncStatus;
    if (query.healthStatus !== undefined) where.healthStatus = query.healthStatus;
    if (query.partnerId !== undefined) where.partnerId = query.partnerId;
    const [items, totalCount] = await this.prisma.$transaction([
      this.prisma.integration.findMany({
        where,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        skip: (query.page - 1) * query.pageSize,
        take: query.pageSize,
      }),
      this.prisma.integration.count({ where }),
    ]);
    return { items, totalCount };
  }

  /** The supplier credential in clear, for the outbound client only. */
  readAuthKey(integration: Pick<Integration, 'authKeyEncrypted'>): string {
    return this.box.open(integration.authKeyEncrypted);
  }

  /** What {@link checkWebhookSecret} needs of integration `id` (deleted ones included); null if none. */
  webhookCredentials(id: string): Promise<WebhookCredentials | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.prisma.integration.findUnique({ where: { id }, select: WEBHOOK_CREDENTIALS });
  }

  /**
   * Checks an inbound webhook's `x-webhook-secret` against credentials loaded by
   * {@link webhookCredentials} (null: no such integration), cached or not. Both digests are
   * compared (in constant time) whatever the case, so the time taken does not reveal which ids are
   * real. During a rotation's grace period the previous secret is accepted too.
   */
  checkWebhookSecret(credentials: WebhookCredentials | null, presented: string | undefined, now = new Date()): WebhookAuth {
    const secret = presented ?? '';
    const current = webhookSecretMatches(secret, credentials?.webhookSecretHash);
    const previous =
      webhookSecretMatches(secret, credentials?.previousWebhookSecretHash) &&
      (credentials?.previousWebhookSecretExpiresAt?.getTime() ?? 0) > now.getTime();
    if (!credentials) return { ok: false, why: 'unknown' };
    if (!(current || previous) || presented === undefined) return { ok: false, why: 'secret' };
    if (credentials.deletedAt !== null || !credentials.isActive) return { ok: false, why: 'inactive' };
    const { id, partnerId, isApproved, isActive } = credentials;
    return { ok: true, integration: { id, partnerId, isApproved, isActive } };
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Integration ids are UUIDs; anything else cannot exist (and must not reach a uuid column). */
function isUuid(value: string): boolean {
  return UUID.test(value);
}

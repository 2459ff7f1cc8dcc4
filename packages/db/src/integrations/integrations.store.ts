import { AppError, SecretBox } from '@octo-sync/platform';
import { deactivateProducts } from '../catalog/catalog.store';
import { syncableWhere, type SyncCandidate } from '../runs/sync-eligibility';
import type { PrismaClient } from '../client';
import type { DriftPolicy, Integration, WebhookAuthMode } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import type { IntegrationChanges } from './integration-changes';
import { recordEvents, SYSTEM_ACTOR, type NewIntegrationEvent } from './integration-events.store';
import type { PullSettings } from '../availability/availability-pull.store';
import { scheduleTiers, tierColumns } from '../availability/pull-schedule';
import { isUuid } from '../uuid';
import { budgetColumns, refuseBudgetRaise, type StoredBudget, type SupplierBudgetPatch } from './supplier-budget-columns';
import { generateWebhookSecret } from './webhook-secret';
import type { WebhookSecretStore } from './webhook-secrets.store';

export type { Integration, WebhookAuthMode };

export interface NewIntegration {
  partnerId: string;
  baseUrl: string;
  authType: 'bearer' | 'api_key';
  authKey: string;
  handlesTicketDelivery: boolean;
  isApproved?: boolean;
  webhookAuth?: WebhookAuthMode;
  /** Where partner alerts go; null or left out: none. */
  alertsUrl?: string | null;
  /** `availability_pull` settings; each left out keeps its default. */
  availabilityPull?: Partial<PullSettings>;
  /** `supplier_budget`; each left out keeps its default. */
  supplierBudget?: SupplierBudgetPatch;
  /** What a sync does when the catalog's shape changed (default `accept`). */
  driftPolicy?: DriftPolicy;
  /** ISO 4217 codes the pulls ask prices in, the first primary; left out or empty: none asked. */
  currencies?: readonly string[];
  /** The languages a sync fetches (default `["en"]`). */
  locales?: string[];
  /** Who creates it (JWT sub), for the audit trail. */
  actor?: string;
}

/** The fields a partner may change on its integration. */
export interface IntegrationPatch {
  baseUrl?: string;
  authType?: 'bearer' | 'api_key';
  authKey?: string;
  handlesTicketDelivery?: boolean;
  webhookAuth?: WebhookAuthMode;
  /** null stops the alerts. */
  alertsUrl?: string | null;
  availabilityPull?: Partial<PullSettings>;
  supplierBudget?: SupplierBudgetPatch;
  /** A partner's own change: `supplierBudget` may only lower the budget stored when the row is locked. */
  budgetLowerOnly?: boolean;
  driftPolicy?: DriftPolicy;
  /** Replaces the list; empty: none asked. */
  currencies?: readonly string[];
  locales?: string[];
}

/** What an update reads of the row it locks. */
interface LockedRow extends StoredBudget {
  base_url: string;
  webhook_auth: WebhookAuthMode;
  signing: boolean;
  days_ahead: number;
  interval_minutes: number;
}

/**
 * Integrations and their secrets. The supplier credential is sealed with {@link SecretBox} before
 * it is stored and opened only by {@link IntegrationStore.readAuthKey}; the webhook secret is
 * stored by {@link WebhookSecretStore} and returned exactly once, by `create` (and by rotation).
 * Every change is written to the audit trail in its own transaction, with its actor.
 */
export class IntegrationStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
    private readonly secrets: WebhookSecretStore,
    private readonly changes: IntegrationChanges,
  ) {}

  /**
   * Calls `listener` with an integration's id after every change this store commits to it
   * (create, update, soft delete, approval, activity, secret rotation), in this process only.
   * In-process caches (the gateway's webhook-auth cache) drop their entry there. Returns the
   * unsubscribe function.
   */
  onChange(listener: (id: string) => void): () => void {
    return this.changes.subscribe(listener);
  }

  private changed(id: string): void {
    this.changes.announce(id);
  }

  async create(input: NewIntegration): Promise<{ integration: Integration; webhookSecret: string }> {
    const webhookSecret = generateWebhookSecret();
    try {
      const integration = await this.prisma.$transaction(async (tx) => {
        const created = await tx.integration.create({
          data: {
            partnerId: input.partnerId,
            livePartnerId: input.partnerId,
            baseUrl: input.baseUrl,
            authType: input.authType,
            authKeyEncrypted: this.box.seal(input.authKey),
            handlesTicketDelivery: input.handlesTicketDelivery,
            isApproved: input.isApproved ?? false,
            ...(input.webhookAuth === undefined ? {} : { webhookAuth: input.webhookAuth }),
            alertsUrl: input.alertsUrl ?? null,
            ...(input.driftPolicy === undefined ? {} : { driftPolicy: input.driftPolicy }),
            currencies: [...(input.currencies ?? [])],
            ...budgetColumns(input.supplierBudget),
            ...(input.locales === undefined ? {} : { locales: input.locales }),
            ...pullColumns(input.availabilityPull, FLAT_PULL_DEFAULTS),
            ...this.secrets.sealNew(webhookSecret),
          },
        });
        await scheduleTiers(tx, created.id);
        await recordEvents(tx, created.id, [{ type: 'created', actor: input.actor ?? SYSTEM_ACTOR, details: { isApproved: created.isApproved } }], created.createdAt);
        return created;
      });
      this.changed(integration.id);
      return { integration, webhookSecret };
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw new AppError('INTEGRATION_EXISTS', 'this partner already has a live integration', { cause: err, expected: true });
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
  async update(id: string, patch: IntegrationPatch, actor = SYSTEM_ACTOR): Promise<Integration | null> {
    if (!isUuid(id)) return null;
    const data: Prisma.IntegrationUpdateManyMutationInput = {};
    if (patch.baseUrl !== undefined) data.baseUrl = patch.baseUrl;
    if (patch.authType !== undefined) data.authType = patch.authType;
    if (patch.authKey !== undefined) data.authKeyEncrypted = this.box.seal(patch.authKey);
    if (patch.handlesTicketDelivery !== undefined) data.handlesTicketDelivery = patch.handlesTicketDelivery;
    if (patch.webhookAuth !== undefined) data.webhookAuth = patch.webhookAuth;
    if (patch.alertsUrl !== undefined) data.alertsUrl = patch.alertsUrl;
    if (patch.driftPolicy !== undefined) data.driftPolicy = patch.driftPolicy;
    if (patch.currencies !== undefined) data.currencies = [...patch.currencies];
    Object.assign(data, budgetColumns(patch.supplierBudget));
    if (patch.locales !== undefined) data.locales = patch.locales;
    const updated = await this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<Array<LockedRow>>`
        SELECT base_url, webhook_auth, webhook_secret_sealed IS NOT NULL AS signing,
          availability_pull_days_ahead AS days_ahead, availability_pull_interval_minutes AS interval_minutes,
          supplier_requests_per_second AS "supplierRequestsPerSecond", supplier_concurrency AS "supplierConcurrency",
          supplier_throttle_statuses AS "supplierThrottleStatuses"
        FROM integrations WHERE id = ${id}::uuid AND deleted_at IS NULL FOR UPDATE`;
      if (!row) return null;
      // Under the row lock: a concurrent change cannot slip between the check and this write.
      if (patch.budgetLowerOnly === true) refuseBudgetRaise(patch.supplierBudget, row);
      Object.assign(data, pullColumns(patch.availabilityPull, { daysAhead: row.days_ahead, intervalMinutes: row.interval_minutes }));
      if (patch.webhookAuth === 'signature' && !row.signing) {
        throw new AppError('SIGNING_UNAVAILABLE', 'webhook_auth: "signature" needs a signing key; rotate the webhook secret first', { expected: true });
      }
      const baseUrlChanged = patch.baseUrl !== undefined && patch.baseUrl !== row.base_url;
      if (baseUrlChanged) data.isApproved = false;
      const events: NewIntegrationEvent[] = [];
      if (baseUrlChanged) events.push({ type: 'base_url_changed', actor });
      if (patch.authKey !== undefined) events.push({ type: 'auth_key_changed', actor });
      if (patch.webhookAuth !== undefined && patch.webhookAuth !== row.webhook_auth) events.push({ type: 'webhook_auth_changed', actor, details: { webhook_auth: patch.webhookAuth } });
      await recordEvents(tx, id, events);
      const stored = await tx.integration.update({ where: { id }, data });
      if (data.availabilityPullTiers !== undefined) await scheduleTiers(tx, id);
      return stored;
    });
    if (updated) this.changed(id);
    return updated;
  }

  /**
   * Soft delete: the integration stops answering webhooks, frees the partner's "one live
   * integration" slot and its products become inactive (one UPDATE); nothing is erased.
   * Returns false when there was no live integration to delete.
   */
  async softDelete(id: string, actor = SYSTEM_ACTOR, now = new Date()): Promise<boolean> {
    if (!isUuid(id)) return false;
    const deleted = await this.prisma.$transaction(async (tx) => {
      const rows = await tx.integration.updateMany({
        where: { id, deletedAt: null },
        data: { deletedAt: now, livePartnerId: null },
      });
      if (rows.count === 0) return false;
      await recordEvents(tx, id, [{ type: 'deleted', actor }], now);
      // Last: it appends the products' events to the change feed, which comes after every row write.
      await deactivateProducts(tx, id, now);
      return true;
    });
    if (deleted) this.changed(id);
    return deleted;
  }

  /** Sets `isApproved` on a live integration; `changed` says whether it was different before. */
  async setApproved(id: string, approved: boolean, actor = SYSTEM_ACTOR): Promise<{ integration: Integration; changed: boolean } | null> {
    return this.setFlag(id, 'isApproved', approved, { type: approved ? 'approved' : 'revoked', actor });
  }

  /** Sets `isActive` on a live integration; `changed` says whether it was different before. */
  async setActive(id: string, active: boolean, actor = SYSTEM_ACTOR): Promise<{ integration: Integration; changed: boolean } | null> {
    return this.setFlag(id, 'isActive', active, { type: active ? 'activated' : 'deactivated', actor });
  }

  private async setFlag(
    id: string,
    flag: 'isApproved' | 'isActive',
    value: boolean,
    event: NewIntegrationEvent,
  ): Promise<{ integration: Integration; changed: boolean } | null> {
    if (!isUuid(id)) return null;
    // Conditional update: `changed` is true for exactly one of two concurrent identical calls.
    const updated = await this.prisma.$transaction(async (tx) => {
      const rows = await tx.integration.updateMany({ where: { id, deletedAt: null, [flag]: !value }, data: { [flag]: value } });
      if (rows.count === 1) await recordEvents(tx, id, [event]);
      return rows;
    });
    if (updated.count === 1) this.changed(id);
    const integration = await this.findLive(id);
    if (!integration) return null;
    return { integration, changed: updated.count === 1 };
  }

  /** The integrations a scheduled sync may run for (the rule of {@link syncRefusal}), oldest id first. */
  scheduleCandidates(): Promise<Array<SyncCandidate & { id: string }>> {
    return this.prisma.integration.findMany({
      where: syncableWhere('schedule'),
      select: { id: true, isApproved: true, isActive: true, deletedAt: true, healthStatus: true },
      orderBy: { id: 'asc' },
    });
  }

  /** The supplier credential in clear, for the outbound client only. */
  readAuthKey(integration: Pick<Integration, 'authKeyEncrypted'>): string {
    return this.box.open(integration.authKeyEncrypted);
  }
}

/** What `days_ahead` or `interval_minutes` alone fall back to on create: the flat window of before tiers. */
const FLAT_PULL_DEFAULTS = { daysAhead: 30, intervalMinutes: 60 };

/**
 * `availability_pull` settings as integration columns (those left out are not set). Tiers set
 * the tiers; `daysAhead`/`intervalMinutes` without tiers mean one tier, the other value taken
 * from `current` (the stored whole window and first interval, or the flat defaults on create).
 */
function pullColumns(pull: Partial<PullSettings> | undefined, current: { daysAhead: number; intervalMinutes: number }): { availabilityPullEnabled?: boolean } & Partial<ReturnType<typeof tierColumns>> {
  if (pull === undefined) return {};
  const enabled = pull.enabled === undefined ? {} : { availabilityPullEnabled: pull.enabled };
  if (pull.tiers !== undefined) return { ...enabled, ...tierColumns(pull.tiers) };
  if (pull.daysAhead === undefined && pull.intervalMinutes === undefined) return enabled;
  return { ...enabled, ...tierColumns([{ daysAhead: pull.daysAhead ?? current.daysAhead, intervalMinutes: pull.intervalMinutes ?? current.intervalMinutes }]) };
}

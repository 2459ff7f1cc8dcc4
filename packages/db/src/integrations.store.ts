import { AppError, SecretBox } from '@octo-sync/platform';
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

/** Why a webhook was refused. Callers answer every kind with the same 401; the kind is for logs. */
export type WebhookAuth = { ok: true; integration: Integration } | { ok: false; why: 'unknown' | 'secret' | 'inactive' };

/**
 * Integrations and their secrets. The supplier credential is sealed with {@link SecretBox} before
 * it is stored and opened only by {@link IntegrationStore.readAuthKey}; the webhook secret is
 * stored as a digest and returned exactly once, by `create` (and by rotation).
 */
export class IntegrationStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
  ) {}

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

  /** The supplier credential in clear, for the outbound client only. */
  readAuthKey(integration: Pick<Integration, 'authKeyEncrypted'>): string {
    return this.box.open(integration.authKeyEncrypted);
  }

  /**
   * Checks an inbound webhook's `x-webhook-secret`. The secret is compared (in constant time) even
   * when the integration does not exist, so the answer time does not reveal which ids are real.
   * During a rotation's grace period the previous secret is accepted too.
   */
  async verifyWebhookSecret(id: string, presented: string | undefined, now = new Date()): Promise<WebhookAuth> {
    const integration = await this.findById(id);
    const secret = presented ?? '';
    const current = webhookSecretMatches(secret, integration?.webhookSecretHash);
    const previous =
      webhookSecretMatches(secret, integration?.previousWebhookSecretHash) &&
      (integration?.previousWebhookSecretExpiresAt?.getTime() ?? 0) > now.getTime();
    if (!integration) return { ok: false, why: 'unknown' };
    if (!(current || previous) || presented === undefined) return { ok: false, why: 'secret' };
    if (integration.deletedAt !== null || !integration.isActive) return { ok: false, why: 'inactive' };
    return { ok: true, integration };
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Integration ids are UUIDs; anything else cannot exist (and must not reach a uuid column). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

import { randomBytes } from 'node:crypto';
import type { SecretBox } from '@octo-sync/platform';
import type { PrismaClient } from '../client';
import type { Integration, Prisma } from '../generated/prisma/client';
import type { IntegrationChanges } from './integration-changes';
import { recordEvents } from './integration-events.store';
import { isUuid } from '../uuid';
import { generateWebhookSecret, hashWebhookSecret, webhookDigestMatches } from './webhook-secret';

/** What a webhook's caller is known by once it authenticated (nothing secret in it). */
export type WebhookIntegration = Pick<Integration, 'id' | 'partnerId' | 'isApproved' | 'isActive'>;

/** One accepted webhook secret: the digest for the header check, the HMAC key when it is known. */
interface AcceptedSecret {
  digest: string;
  /** The 32 raw bytes of the secret; null for secrets stored before signatures existed. */
  key: Buffer | null;
}

/** Everything the webhook check needs of an integration, secrets opened (keep it in memory only). */
export type WebhookCredentials = WebhookIntegration &
  Pick<Integration, 'deletedAt' | 'webhookAuth'> & {
    current: AcceptedSecret;
    previous: (AcceptedSecret & { expiresAt: Date }) | null;
  };

/**
 * How a webhook proves who sends it: the `x-webhook-secret` header, or a signature, checked by
 * the caller against the keys it is given (always two: unusable stand-ins where a key is missing
 * or expired, so that timing does not tell the cases apart).
 */
export type WebhookProof = { kind: 'secret'; presented: string | undefined } | { kind: 'signature'; matches: (keys: readonly Buffer[]) => boolean };

/** Why a webhook was refused. Callers answer every kind with the same 401; the kind is for logs. */
export type WebhookAuth = { ok: true; integration: WebhookIntegration } | { ok: false; why: 'unknown' | 'secret' | 'signature' | 'mode' | 'inactive' };

/** A rotation's answer: the new secret (shown once, or again for the same Idempotency-Key). */
export interface Rotation {
  webhookSecret: string;
  previousExpiresAt: Date | null;
  /** True when an earlier rotation with the same Idempotency-Key was answered again. */
  replayed: boolean;
}

export interface RotateOptions {
  graceSeconds: number;
  idempotencyKey: string | undefined;
  actor: string;
}

/** How long an Idempotency-Key answers the same rotation. */
const ROTATION_KEY_TTL_MS = 24 * 3600 * 1000;

const CREDENTIALS = {
  id: true,
  partnerId: true,
  isApproved: true,
  isActive: true,
  deletedAt: true,
  webhookAuth: true,
  webhookSecretHash: true,
  webhookSecretSealed: true,
  previousWebhookSecretHash: true,
  previousWebhookSecretSealed: true,
  previousWebhookSecretExpiresAt: true,
} as const satisfies Prisma.IntegrationSelect;

/** Keys nobody holds: used in place of a missing one so every check does the same work. */
const STAND_IN_KEYS = [randomBytes(32), randomBytes(32)] as const;

/**
 * Webhook secrets: stored as a SHA-256 digest (header check) and sealed with SECRETS_KEY (the HMAC
 * key of signed deliveries), rotated with a grace period during which both secrets pass.
 */
export class WebhookSecretStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
    private readonly changes: IntegrationChanges,
  ) {}

  /** Same as {@link IntegrationStore.onChange} (one feed for every store of a process). */
  onChange(listener: (id: string) => void): () => void {
    return this.changes.subscribe(listener);
  }

  /** The digest and sealed form of a new secret, as the integration columns take them. */
  sealNew(secret: string): { webhookSecretHash: string; webhookSecretSealed: string } {
    return { webhookSecretHash: hashWebhookSecret(secret).toString('hex'), webhookSecretSealed: this.box.seal(secret) };
  }

  /** What {@link check} needs of integration `id` (deleted ones included); null if none. */
  async credentials(id: string): Promise<WebhookCredentials | null> {
    if (!isUuid(id)) return null;
    const row = await this.prisma.integration.findUnique({ where: { id }, select: CREDENTIALS });
    if (!row) return null;
    const { webhookSecretHash, webhookSecretSealed, previousWebhookSecretHash, previousWebhookSecretSealed, previousWebhookSecretExpiresAt, ...rest } = row;
    const previous =
      previousWebhookSecretHash !== null && previousWebhookSecretExpiresAt !== null
        ? { digest: previousWebhookSecretHash, key: this.keyOf(previousWebhookSecretSealed), expiresAt: previousWebhookSecretExpiresAt }
        : null;
    return { ...rest, current: { digest: webhookSecretHash, key: this.keyOf(webhookSecretSealed) }, previous };
  }

  /**
   * The webhook rule, applied to credentials from {@link credentials} (null: no such
   * integration), cached or not. Both secrets are checked whatever the case (the previous one
   * only until it expires), in constant time. In `signature` mode the bare header is refused.
   */
  check(credentials: WebhookCredentials | null, proof: WebhookProof, now = new Date()): WebhookAuth {
    const previous = credentials?.previous && credentials.previous.expiresAt.getTime() > now.getTime() ? credentials.previous : undefined;
    let proven: boolean;
    if (proof.kind === 'secret') {
      const presented = hashWebhookSecret(proof.presented ?? '');
      const current = webhookDigestMatches(presented, credentials?.current.digest);
      proven = (webhookDigestMatches(presented, previous?.digest) || current) && proof.presented !== undefined;
    } else {
      proven = proof.matches([credentials?.current.key ?? STAND_IN_KEYS[0], previous?.key ?? STAND_IN_KEYS[1]]);
    }
    if (!credentials) return { ok: false, why: 'unknown' };
    if (!proven) return { ok: false, why: proof.kind };
    if (proof.kind === 'secret' && credentials.webhookAuth === 'signature') return { ok: false, why: 'mode' };
    if (credentials.deletedAt !== null || !credentials.isActive) return { ok: false, why: 'inactive' };
    const { id, partnerId, isApproved, isActive } = credentials;
    return { ok: true, integration: { id, partnerId, isApproved, isActive } };
  }

  /**
   * A new secret for a live integration; the current one stays accepted for `graceSeconds` (0:
   * not at all), and the one before is dropped at once. The same `idempotencyKey` within 24 h of
   * the last rotation answers that rotation again. Null when there is no live integration `id`.
   */
  async rotate(id: string, options: RotateOptions, now = new Date()): Promise<Rotation | null> {
    if (!isUuid(id)) return null;
    const rotation = await this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<Array<{ hash: string; sealed: string | null; key: string | null; rotated_at: Date | null; expires_at: Date | null }>>`
        SELECT webhook_secret_hash AS hash, webhook_secret_sealed AS sealed, webhook_rotation_key AS key,
               webhook_rotated_at AS rotated_at, previous_webhook_secret_expires_at AS expires_at
        FROM integrations WHERE id = ${id}::uuid AND deleted_at IS NULL FOR UPDATE`;
      if (!row) return null;
      const sameKey = options.idempotencyKey !== undefined && row.key === options.idempotencyKey;
      if (sameKey && row.sealed !== null && row.rotated_at !== null && now.getTime() - row.rotated_at.getTime() < ROTATION_KEY_TTL_MS) {
        return { webhookSecret: this.box.open(row.sealed), previousExpiresAt: row.expires_at, replayed: true };
      }
      const webhookSecret = generateWebhookSecret();
      const keep = options.graceSeconds > 0;
      const previousExpiresAt = keep ? new Date(now.getTime() + options.graceSeconds * 1000) : null;
      await tx.integration.update({
        where: { id },
        data: {
          ...this.sealNew(webhookSecret),
          previousWebhookSecretHash: keep ? row.hash : null,
          previousWebhookSecretSealed: keep ? row.sealed : null,
          previousWebhookSecretExpiresAt: previousExpiresAt,
          webhookRotationKey: options.idempotencyKey ?? null,
          webhookRotatedAt: now,
        },
      });
      await recordEvents(tx, id, [{ type: 'webhook_secret_rotated', actor: options.actor, details: { grace_seconds: options.graceSeconds } }], now);
      return { webhookSecret, previousExpiresAt, replayed: false };
    });
    if (rotation && !rotation.replayed) this.changes.announce(id);
    return rotation;
  }

  /** The secret's raw bytes, from its sealed hex form. */
  private keyOf(sealed: string | null): Buffer | null {
    return sealed === null ? null : Buffer.from(this.box.open(sealed), 'hex');
  }
}

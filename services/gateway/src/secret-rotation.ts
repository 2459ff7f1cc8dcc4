import type { z } from 'zod';
import type { Db } from '@octo-sync/db';
import type { Logger } from '@octo-sync/platform';
import { ApiError } from './errors';
import { notFound } from './integration-access';
import { okWithSecret, presentWebhookSecret } from './presenters';
import { idempotencyHeaderSchema, rotateBodySchema } from './request-schemas';
import { okEnvelope, rotationSchema } from './response-schemas';
import type { Reply, RouteSpec } from './route';

/** When the body does not say: the previous secret stays valid for a day. */
const DEFAULT_GRACE_S = 86_400;

/** What the partner and admin rotation routes share: body, headers, answers, description. */
export const rotationRoute = {
  method: 'post',
  description:
    'A new webhook secret. The current one keeps passing (header and signatures) until `previous_expires_at` (`grace_seconds`, default 86400); ' +
    'the one before it stops at once. The same `Idempotency-Key` within 24 h answers the same rotation again. ' +
    'Every gateway replica honours the change within WEBHOOK_AUTH_CACHE_MS (at once on the one that made it).',
  body: rotateBodySchema,
  headers: idempotencyHeaderSchema,
  responses: { 200: { description: 'The new secret, shown this once (or again for the same Idempotency-Key).', schema: okEnvelope(rotationSchema) } },
} as const satisfies Partial<RouteSpec>;

/** Rotates integration `id`'s webhook secret for `actor` and answers with the new one. */
export async function rotateSecret(
  db: Db,
  target: { id: string; actor: string; idempotencyKey: string | undefined },
  body: z.output<typeof rotateBodySchema>,
  log: Logger,
): Promise<Reply> {
  if (target.idempotencyKey !== undefined && (target.idempotencyKey.length === 0 || target.idempotencyKey.length > 255)) {
    throw new ApiError('VALIDATION_FAILED', ['idempotency-key: must be 1 to 255 characters']);
  }
  const rotation = await db.webhookSecrets.rotate(target.id, {
    graceSeconds: body.grace_seconds ?? DEFAULT_GRACE_S,
    idempotencyKey: target.idempotencyKey,
    actor: target.actor,
  });
  if (!rotation) throw notFound();
  log.info({ integrationId: target.id, replayed: rotation.replayed, previousExpiresAt: rotation.previousExpiresAt }, 'webhook secret rotated');
  return okWithSecret({ ...presentWebhookSecret(rotation.webhookSecret), previous_expires_at: rotation.previousExpiresAt?.toISOString() ?? null });
}

import { z } from 'zod';
import { COUNT_CAP } from '@octo-sync/db';
import { syncProgressSchema, testConnectionResultSchema } from '@octo-sync/jobs';
import { driftPolicySchema } from './drift-policy.schema';
import { pullTiersField } from './pull-tiers.schema';
import { currencyChecksSchema } from './currencies.schema';
import { authTypeSchema, webhookAuthSchema } from './request-schemas';

/*
 * What the HTTP API answers: each schema describes exactly what the presenters and handlers write,
 * and the OpenAPI document is generated from them.
 */

const isoTime = z.iso.datetime({ offset: false }).openapi({ example: '2026-06-23T06:00:00.000Z' });

export const syncStateSchema = z
  .object({
    status: z.enum(['idle', 'syncing', 'error']),
    last_sync_at: isoTime.nullable(),
    last_sync_hash: z.string().nullable(),
    last_checked_at: isoTime.nullable(),
    error_message: z.string().nullable(),
  })
  .openapi('SyncState');

export const healthSchema = z
  .object({
    status: z.enum(['HEALTHY', 'DEGRADED', 'DOWN']),
    last_probe_at: isoTime.nullable(),
    last_success_at: isoTime.nullable(),
    consecutive_failures: z.number().int().min(0),
    degraded_since: isoTime.nullable(),
    down_since: isoTime.nullable(),
  })
  .openapi('Health');

export const integrationSchema = z
  .object({
    _id: z.string(),
    partner_id: z.string(),
    base_url: z.string(),
    auth_type: authTypeSchema,
    handles_ticket_delivery: z.boolean(),
    isActive: z.boolean(),
    isApproved: z.boolean(),
    webhook_auth: webhookAuthSchema,
    signing_available: z.boolean().openapi({
      description: 'Whether signed deliveries can be verified: false for integrations created before signatures, until their first secret rotation.',
    }),
    availability_pull: z
      .object({
        enabled: z.boolean(),
        days_ahead: z.number().int().openapi({ description: 'The whole window: the last tier’s `days_ahead` (what a refresh without dates pulls).' }),
        interval_minutes: z.number().int().openapi({ description: 'The most frequent pull: the first tier’s interval.' }),
        tiers: pullTiersField,
      })
      .openapi({ description: 'The scheduled availability pull and its tiers.' }),
    supplier_budget: z
      .object({ requests_per_second: z.number(), concurrency: z.number().int(), throttle_statuses: z.array(z.number().int()) })
      .openapi({ description: 'The request budget every call to the supplier spends, across all workers; see SupplierBudget.' }),
    locales: z.array(z.string()).openapi({ description: 'The languages a sync fetches content in; the first decides the catalog. See Locales.' }),
    catalog_locale: z.string().nullable().openapi({ description: 'The language the catalog rows are in: the first locale\'s answer\'s `Content-Language` (the locale itself when the supplier sends none); null before the first sync.' }),
    alerts_url: z.string().nullable().openapi({ description: 'Where partner alerts go; null: none.' }),
    drift_policy: driftPolicySchema,
    currencies: z.array(z.string()).openapi({ description: 'The currencies pulls ask prices in, the first primary; empty: none asked.' }),
    currency_checks: currencyChecksSchema,
    sync: syncStateSchema,
    health: healthSchema,
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .openapi('Integration');

const signingSecretField = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+=*$/)
  .openapi({ description: 'The same secret as Standard Webhooks libraries take it: `whsec_` and the base64 of its 32 bytes.' });

export const createdIntegrationSchema = integrationSchema
  .extend({
    webhook_secret: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .openapi({ description: 'Shown exactly once: store it now. Send it as `x-webhook-secret`.' }),
    webhook_signing_secret: signingSecretField,
  })
  .openapi('CreatedIntegration');

export const rotationSchema = z
  .object({
    webhook_secret: z.string().regex(/^[0-9a-f]{64}$/).openapi({ description: 'The new secret (64 hex characters).' }),
    webhook_signing_secret: signingSecretField,
    previous_expires_at: isoTime.nullable().openapi({ description: 'Until then the previous secret passes too; null when it ended at once.' }),
  })
  .openapi('WebhookSecretRotation');

export const integrationEventSchema = z
  .object({
    type: z.enum([
      'created',
      'approved',
      'revoked',
      'activated',
      'deactivated',
      'base_url_changed',
      'auth_key_changed',
      'webhook_secret_rotated',
      'webhook_auth_changed',
      'sync_forced',
      'dashboard_job_action',
      'deleted',
      'product_remapped',
      'integration_linked',
      'supplier_drift',
      'supplier_drift_accepted',
    ]),
    actor: z.string().openapi({ description: 'The JWT `sub` of who did it (`system` for changes outside the API).' }),
    at: isoTime,
    details: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'Non-secret facts (the new webhook_auth, a rotation’s grace_seconds).' }),
  })
  .openapi('IntegrationEvent');

export const alertDeliverySchema = z
  .object({
    id: z.string().openapi({ description: 'The alert id; its deliveries carry `webhook-id: msg_<id>`.' }),
    type: z.string().openapi({ example: 'sync.failed' }),
    status: z.enum(['pending', 'delivered', 'failed']).openapi({ description: '`pending` while it is still being retried.' }),
    attempts: z.number().int().min(0),
    last_status_code: z.number().int().nullable().openapi({ description: 'The HTTP status of the last answer; null when none came.' }),
    last_error: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    created_at: isoTime,
    last_attempt_at: isoTime.nullable(),
    delivered_at: isoTime.nullable(),
  })
  .openapi('AlertDelivery');

const entityCountsSchema = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  removed: z.number().int(),
});

export const runWarningSchema = z
  .object({
    product_id: z.string().nullable().openapi({ description: 'The product id as sent (escaped and shortened if need be); null when it had none.' }),
    path: z.string().openapi({ example: '[12].options[0].title' }),
    reason: z.string().openapi({ example: 'the string contains a NUL character (U+0000), which Postgres cannot store' }),
  })
  .openapi('SyncRunWarning');

export const runSchema = z
  .object({
    run_id: z.string(),
    trigger: z.enum(['schedule', 'webhook', 'admin', 'availability_fallback', 'health_recovery', 'refresh']),
    kind: z.enum(['catalog', 'availability_pull']).openapi({ description: '`catalog`: a catalog sync; `availability_pull`: an availability pull (its counts are `slots`).' }),
    status: z.enum(['queued', 'running', 'succeeded', 'skipped', 'failed']),
    attempts: z
      .number()
      .int()
      .min(0)
      .openapi({ description: 'Attempts spent so far: each time a worker claimed the run (0 while none has; waiting behind another run of the integration spends none).' }),
    queued_at: isoTime,
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable(),
    duration_ms: z.number().int().nullable(),
    payload_bytes: z.number().int().nullable(),
    hash: z.string().nullable(),
    counts: z
      .union([
        z.object({
          products: entityCountsSchema.extend({
            quarantined: z.number().int().openapi({ description: 'Products kept as stored because they could not be stored as sent (listed in `warnings`).' }),
            remapped: z.number().int().openapi({ description: 'Products the supplier re-keyed, matched 1:1 by reference: they kept their `key` and are counted neither created nor removed.' }),
          }),
          options: entityCountsSchema,
          units: entityCountsSchema,
        }),
        z.object({
          slots: z.object({ created: z.number().int(), updated: z.number().int(), unchanged: z.number().int(), closed: z.number().int() }),
          options: z.object({ pulled: z.number().int(), failed: z.number().int() }).openapi({ description: 'Options pulled, and those whose answer failed (listed in `warnings`).' }),
          freshness: z
            .array(
              z.object({
                tier: z.number().int().min(0),
                oldest_confirmed_at: isoTime,
                age_s: z.number().int().min(0),
              }),
            )
            .optional()
            .openapi({
              description:
                'As the pull left them: per tier of the integration with an active option, when the oldest day of its window was last confirmed and its age in seconds when the run finished (the figure of `GET /admin`’s `freshness.tiers`). Absent on runs recorded before it existed.',
            }),
        }),
      ])
      .nullable(),
    warnings: z
      .array(runWarningSchema)
      .openapi({ description: 'What the run could not take as sent, such as each quarantined product (at most SYNC_MAX_WARNINGS of them).' }),
    warnings_omitted: z.number().int().openapi({ description: 'Warnings left out of `warnings` past its cap.' }),
    error_code: z.string().nullable(),
    error_message: z.string().nullable(),
    throttled_ms: z
      .number()
      .int()
      .min(0)
      .openapi({ description: 'How long the run’s supplier calls waited on a budget the supplier slowed by throttling (overlapping waits count once); such waits spend no attempt.' }),
    request_ids: z
      .array(z.string())
      .openapi({ description: 'The `x-request-id` of the first 20 requests that asked for this run or joined it (triggers coalesce), so one id finds a webhook, its job and its run.' }),
    product_ids: z
      .array(z.string())
      .openapi({ description: 'A targeted refresh: the products it fetched (`GET /products/{id}` each); empty for a full catalog sync.' }),
    progress: syncProgressSchema.nullable().meta({
      description: 'While the run is `running`: the catalog bytes received (of the declared length, when the supplier sends one), then the products processed (of the catalog’s). Updated a few times a second; null otherwise.',
    }),
  })
  .openapi('SyncRun');

export const syncLogSchema = z.object({ sync: syncStateSchema, runs: z.array(runSchema) }).openapi('SyncLog');

export const syncAnswerSchema = z
  .union([
    z.object({
      synced: z.number().int().min(0),
      skipped: z.boolean(),
      run_id: z.string(),
      error: z.string().optional().openapi({ description: 'Present when the run failed (the call itself succeeded).' }),
    }),
    z.object({ queued: z.literal(true), run_id: z.string() }),
  ])
  .openapi('SyncAnswer');

// Declared in the jobs package (before `extendZodWithOpenApi` ran): named through zod's own metadata.
export const testConnectionSchema = testConnectionResultSchema.meta({ id: 'TestConnectionResult' });

export const deletedSchema = z.object({ _id: z.string(), deleted: z.literal(true) }).openapi('Deleted');

const paginationSchema = z
  .object({
    page: z.number().int(),
    pageSize: z.number().int(),
    totalCount: z.number().int().openapi({ description: `Rows in the whole filtered list, exact up to ${COUNT_CAP}; past it ${COUNT_CAP}, a lower bound (see totalCountCapped).` }),
    totalCountCapped: z.literal(true).optional().openapi({ description: `Present only when the list holds more than ${COUNT_CAP} rows: totalCount is then a lower bound.` }),
    next: z.string().nullable().openapi({ description: 'Opaque cursor: pass it as `after` for the rows after this page (keyset paging); null on the last page.' }),
  })
  .openapi('Pagination');

export const errorEnvelopeSchema = z
  .object({
    success: z.literal(0),
    error: z.array(z.string()),
    message: z.string(),
    code: z.number().int(),
    reason: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  })
  .openapi('Error');

export const queueOverviewSchema = z
  .object({
    queue: z.string(),
    counts: z.record(z.string(), z.number().int()),
    failed: z.array(
      z.object({
        id: z.string().optional(),
        name: z.string(),
        failedReason: z.string(),
        attemptsMade: z.number().int(),
        finishedAt: z.string().nullable(),
        data: z.unknown(),
      }),
    ),
  })
  .openapi('QueueOverview');

export const liveSchema = z.object({ status: z.literal('ok') }).openapi('Live');
export const readySchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.object({ postgres: z.enum(['ok', 'down']), redis: z.enum(['ok', 'down']) }),
    /** Workers with a live heartbeat (informational, never changes the status); null when Redis cannot tell. */
    workers: z.number().int().min(0).nullable(),
  })
  .openapi('Ready');

/** `{success: 1, data}` around a response schema. */
export function okEnvelope<T extends z.ZodType>(data: T) {
  return z.object({ success: z.literal(1), data });
}

/** `{success: 1, data: [...], pagination}`. */
export function listEnvelope<T extends z.ZodType>(item: T) {
  return z.object({ success: z.literal(1), data: z.array(item), pagination: paginationSchema });
}

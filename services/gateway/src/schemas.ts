import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { testConnectionResultSchema } from '@octo-sync/jobs';
// The one base-URL rule, shared with the outbound client (a pure module: no HTTP client comes with it).
import { unreachableLiteral, validateBaseUrl } from '@octo-sync/octo/src/base-url';

// Adds `.openapi()` to zod schemas: the schemas that validate requests are the ones documented.
extendZodWithOpenApi(z);

/*
 * Every schema the HTTP API validates with or answers with. Request schemas are strict (unknown
 * fields are rejected); response schemas describe exactly what the presenters write.
 */

// ---------------------------------------------------------------------------------------------
// base_url: the outbound client's own rule, plus a refusal of addresses it could never reach

export const BASE_URL_MAX = 2048;

/** Where base URLs may point: plain http allowed or not, and the `OCTO_ALLOWED_HOSTS` keys. */
export interface BaseUrlPolicy {
  allowInsecureOctoUrls: boolean;
  allowedHosts: ReadonlySet<string>;
}

function baseUrlField({ allowInsecureOctoUrls, allowedHosts }: BaseUrlPolicy) {
  return z
    .string()
    .transform((value, ctx) => {
      const result = validateBaseUrl(value, { allowInsecureHttp: allowInsecureOctoUrls });
      const problem = result.ok ? unreachableLiteral(result.url, allowedHosts) : result.reason;
      if (problem === undefined && result.ok) return result.url;
      ctx.addIssue({ code: 'custom', message: problem ?? 'is invalid' });
      return z.NEVER;
    })
    .openapi({
      type: 'string',
      format: 'uri',
      maxLength: BASE_URL_MAX,
      description: `The supplier's OCTO API root (we call GET {base_url}/products). Absolute ${allowInsecureOctoUrls ? 'http(s)' : 'https'} URL without credentials, query or fragment; trailing slashes are stripped. A private or loopback address is refused unless the deployment allows that host:port.`,
      example: 'https://octo.example-partner.com',
    });
}

// ---------------------------------------------------------------------------------------------
// Requests

export const authTypeSchema = z.enum(['bearer', 'api_key']).openapi({
  description: '`bearer` sends `Authorization: Bearer <auth_key>`; `api_key` sends the raw key as `Authorization: <auth_key>`.',
});
const authKeyField = z.string().min(1).max(4096).openapi({ description: 'Supplier credential. Write-only: stored encrypted, never returned.', writeOnly: true });
const partnerIdField = z.string().min(1).max(255).openapi({ example: 'partner-123' });

/** Request schemas depend on the deployment's base URL policy. */
export function requestSchemas(policy: BaseUrlPolicy) {
  const baseUrl = baseUrlField(policy);
  const createIntegration = z
    .strictObject({
      base_url: baseUrl,
      auth_type: authTypeSchema,
      auth_key: authKeyField,
      handles_ticket_delivery: z.boolean(),
    })
    .openapi('CreateIntegration');
  const adminCreateIntegration = z
    .strictObject({
      partner_id: partnerIdField,
      base_url: baseUrl,
      auth_type: authTypeSchema,
      auth_key: authKeyField,
      handles_ticket_delivery: z.boolean(),
      isApproved: z.boolean().optional().openapi({ description: 'Defaults to true.' }),
    })
    .openapi('AdminCreateIntegration');
  const patchIntegration = z
    .strictObject({
      base_url: baseUrl.optional(),
      auth_type: authTypeSchema.optional(),
      auth_key: authKeyField.optional(),
      handles_ticket_delivery: z.boolean().optional(),
    })
    .refine((b) => Object.values(b).some((v) => v !== undefined), {
      message: 'must contain at least one of base_url, auth_type, auth_key, handles_ticket_delivery',
    })
    .openapi('PatchIntegration', { description: 'Changing base_url withdraws the approval (an admin must approve the new target).' });
  const adminPatchIntegration = z.strictObject({ isActive: z.boolean() }).openapi('AdminPatchIntegration');
  return { createIntegration, adminCreateIntegration, patchIntegration, adminPatchIntegration };
}

const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

export const listQuerySchema = z.strictObject({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1).openapi({ type: 'integer', minimum: 1, default: 1 }),
  pageSize: z.coerce.number().int().min(1).max(100).default(20).openapi({ type: 'integer', minimum: 1, maximum: 100, default: 20 }),
  isApproved: booleanQuery.optional().openapi({ type: 'string', enum: ['true', 'false'] }),
  isActive: booleanQuery.optional().openapi({ type: 'string', enum: ['true', 'false'] }),
  sync_status: z.enum(['idle', 'syncing', 'error']).optional(),
  health_status: z.enum(['HEALTHY', 'DEGRADED', 'DOWN']).optional(),
  partner_id: partnerIdField.optional(),
});

export const syncLogQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ type: 'integer', minimum: 1, maximum: 100, default: 20 }),
});

export const adminSyncQuerySchema = z.strictObject({
  force: booleanQuery.optional().openapi({ type: 'string', enum: ['true', 'false'], description: 'true overrides the mass-removal guard.' }),
});

/** Every route without query parameters still rejects unknown ones (a typo must not pass silently). */
export const noQuerySchema = z.strictObject({});

export const idParamsSchema = z.object({ id: z.string().openapi({ description: 'Integration id (`_id`).' }) });

export const webhookHeadersSchema = z.object({
  'x-webhook-secret': z.string().openapi({ description: 'The webhook secret returned at creation (64 hex characters).' }),
});

export const preferHeaderSchema = z.object({
  prefer: z.string().optional().openapi({ description: '`respond-async` answers 202 at once instead of waiting for the result.', example: 'respond-async' }),
});

// ---------------------------------------------------------------------------------------------
// Responses

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
    sync: syncStateSchema,
    health: healthSchema,
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .openapi('Integration');

export const createdIntegrationSchema = integrationSchema
  .extend({
    webhook_secret: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .openapi({ description: 'Shown exactly once: store it now. Send it as `x-webhook-secret`.' }),
  })
  .openapi('CreatedIntegration');

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
    trigger: z.enum(['schedule', 'webhook', 'admin', 'availability_fallback', 'health_recovery']),
    status: z.enum(['queued', 'running', 'succeeded', 'skipped', 'failed']),
    queued_at: isoTime,
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable(),
    duration_ms: z.number().int().nullable(),
    payload_bytes: z.number().int().nullable(),
    hash: z.string().nullable(),
    counts: z
      .object({
        products: entityCountsSchema.extend({
          quarantined: z.number().int().openapi({ description: 'Products kept as stored because they could not be stored as sent (listed in `warnings`).' }),
        }),
        options: entityCountsSchema,
        units: entityCountsSchema,
      })
      .nullable(),
    warnings: z
      .array(runWarningSchema)
      .openapi({ description: 'What the run could not take as sent, such as each quarantined product (at most SYNC_MAX_WARNINGS of them).' }),
    warnings_omitted: z.number().int().openapi({ description: 'Warnings left out of `warnings` past its cap.' }),
    error_code: z.string().nullable(),
    error_message: z.string().nullable(),
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

export const paginationSchema = z
  .object({ page: z.number().int(), pageSize: z.number().int(), totalCount: z.number().int() })
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

export const queueOverviewQuerySchema = z.strictObject({
  failed: z.coerce.number().int().min(0).max(100).default(10).openapi({ description: 'How many recent failed jobs to list per queue.' }),
});

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

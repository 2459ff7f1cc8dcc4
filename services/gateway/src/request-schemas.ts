import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { TARGETED_PRODUCTS_MAX, type AlertListKey, type IntegrationEventListKey, type FleetListKey, type PullTier } from '@octo-sync/db';
// The one base-URL rule, shared with the outbound client (a pure module: no HTTP client comes with it).
import { unreachableLiteral, validateBaseUrl } from '@octo-sync/octo/src/base-url';
import { afterQuery, keysetNotWithPage, type KeyPart } from './list-paging';
import { driftPolicySchema } from './drift-policy.schema';
import { currenciesField } from './currencies.schema';
import { pullTiersField, tiersOf } from './pull-tiers.schema';
import { localesSchema } from './locales.schema';
import { supplierBudgetSchema } from './supplier-budget.schema';

// Adds `.openapi()` to zod schemas: the schemas that validate requests are the ones documented.
// Modules that call `.openapi()` at load import this one (directly or through response-schemas.ts),
// so the extension is in place before their schemas are built.
extendZodWithOpenApi(z);

/*
 * What the HTTP API accepts: bodies, query strings, path parameters and documented headers.
 * Request schemas are strict (unknown fields are rejected).
 */

// ---------------------------------------------------------------------------------------------
// base_url: the outbound client's own rule, plus a refusal of addresses it could never reach

const BASE_URL_MAX = 2048;

/** Where base URLs may point: plain http allowed or not, and the `OCTO_ALLOWED_HOSTS` keys. */
interface BaseUrlPolicy {
  allowInsecureOctoUrls: boolean;
  allowedHosts: ReadonlySet<string>;
}
/** How an outbound URL field is documented. */
interface UrlFieldDoc {
  description: string;
  example: string;
}
function baseUrlField({ allowInsecureOctoUrls, allowedHosts }: BaseUrlPolicy, doc?: UrlFieldDoc) {
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
      description:
        doc?.description ??
        `The supplier's OCTO API root (we call GET {base_url}/products). Absolute ${allowInsecureOctoUrls ? 'http(s)' : 'https'} URL without credentials, query or fragment; trailing slashes are stripped. A private or loopback address is refused unless the deployment allows that host:port.`,
      example: doc?.example ?? 'https://octo.example-partner.com',
    });
}

// ---------------------------------------------------------------------------------------------
// Bodies, queries, headers

/** How we authenticate to the supplier; also part of every integration answer. */
export const authTypeSchema = z.enum(['bearer', 'api_key']).openapi({
  description: '`bearer` sends `Authorization: Bearer <auth_key>`; `api_key` sends the raw key as `Authorization: <auth_key>`.',
});
const authKeyField = z.string().min(1).max(4096).openapi({ description: 'Supplier credential. Write-only: stored encrypted, never returned.', writeOnly: true });
const partnerIdField = z.string().min(1).max(255).openapi({ example: 'partner-123' });

/** How the integration's webhooks authenticate; also part of every integration answer. */
export const webhookAuthSchema = z.enum(['secret_or_signature', 'signature']).openapi({
  description: '`secret_or_signature` (default): the `x-webhook-secret` header or a Standard Webhooks signature; `signature`: signed deliveries only.',
});

/** `availability_pull` settings; in a patch, fields left out keep their value. */
export const availabilityPullSchema = z
  .strictObject({
    enabled: z.boolean().optional(),
    days_ahead: z.number().int().min(1).max(365).optional().openapi({ description: 'Without `tiers`: one tier of this many days (with `interval_minutes`, else the stored or former default 60).' }),
    interval_minutes: z.number().int().min(5).max(1440).optional().openapi({ description: 'Without `tiers`: one tier pulled this often (with `days_ahead`, else the stored or former default 30).' }),
    tiers: pullTiersField.optional(),
  })
  .refine((b) => b.tiers === undefined || (b.days_ahead === undefined && b.interval_minutes === undefined), {
    message: 'give tiers, or days_ahead/interval_minutes (one tier), not both',
    path: ['tiers'],
  })
  .openapi('AvailabilityPullSettings', { description: 'The scheduled availability pull: on (default) or off, and its tiers (or one tier: `days_ahead` and `interval_minutes`).' });

/** Request schemas depend on the deployment's base URL policy. */
export function requestSchemas(policy: BaseUrlPolicy) {
  const baseUrl = baseUrlField(policy);
  const alertsUrl = baseUrlField(policy, {
    description: 'Where partner alerts are POSTed, signed with the webhook secret (Standard Webhooks). The same rules as base_url; null (in a patch) stops the alerts.',
    example: 'https://ops.example-partner.com/octo-alerts',
  });
  const createIntegration = z
    .strictObject({
      base_url: baseUrl,
      auth_type: authTypeSchema,
      auth_key: authKeyField,
      handles_ticket_delivery: z.boolean(),
      webhook_auth: webhookAuthSchema.optional(),
      availability_pull: availabilityPullSchema.optional(),
      supplier_budget: supplierBudgetSchema.optional(),
      currencies: currenciesField.optional(),
      locales: localesSchema.optional(),
      alerts_url: alertsUrl.optional(),
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
      webhook_auth: webhookAuthSchema.optional(),
      availability_pull: availabilityPullSchema.optional(),
      supplier_budget: supplierBudgetSchema.optional(),
      currencies: currenciesField.optional(),
      locales: localesSchema.optional(),
      alerts_url: alertsUrl.optional(),
      drift_policy: driftPolicySchema.optional(),
    })
    .openapi('AdminCreateIntegration');
  const patchIntegration = z
    .strictObject({
      base_url: baseUrl.optional(),
      auth_type: authTypeSchema.optional(),
      auth_key: authKeyField.optional(),
      handles_ticket_delivery: z.boolean().optional(),
      webhook_auth: webhookAuthSchema.optional(),
      availability_pull: availabilityPullSchema.optional(),
      supplier_budget: supplierBudgetSchema.optional(),
      currencies: currenciesField.optional(),
      locales: localesSchema.optional(),
      alerts_url: alertsUrl.nullable().optional(),
    })
    .refine((b) => Object.values(b).some((v) => v !== undefined), {
      message: 'must contain at least one of base_url, auth_type, auth_key, handles_ticket_delivery, webhook_auth, availability_pull, supplier_budget, currencies, locales, alerts_url',
    })
    .openapi('PatchIntegration', { description: 'Changing base_url withdraws the approval (an admin must approve the new target).' });
  const adminPatchIntegration = z
    .strictObject({
      isActive: z.boolean().optional(),
      webhook_auth: webhookAuthSchema.optional(),
      availability_pull: availabilityPullSchema.optional(),
      supplier_budget: supplierBudgetSchema.optional(),
      currencies: currenciesField.optional(),
      locales: localesSchema.optional(),
      alerts_url: alertsUrl.nullable().optional(),
      drift_policy: driftPolicySchema.optional(),
    })
    .refine((b) => Object.values(b).some((v) => v !== undefined), {
      message: 'must contain at least one of isActive, webhook_auth, availability_pull, supplier_budget, currencies, locales, alerts_url, drift_policy',
    })
    .openapi('AdminPatchIntegration');
  return { createIntegration, adminCreateIntegration, patchIntegration, adminPatchIntegration };
}

const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

const FLEET_SORTS = ['created_at', 'updated_at', 'health_status', 'stale', 'failing'] as const;

/** A fleet cursor is only good for the sort that made it (its first part). */
function cursorOfSort(query: { sort: string; after?: FleetListKey | undefined }, ctx: z.RefinementCtx): void {
  if (query.after !== undefined && query.after[0] !== query.sort) {
    ctx.addIssue({ code: 'custom', path: ['after'], message: `is a cursor of sort=${query.after[0]}, not of sort=${query.sort}` });
  }
}

/** `GET /admin`, the fleet list: filters, a sort (worst or newest first) and paging. */
export const fleetQuerySchema = z
  .strictObject({
    page: z.coerce.number().int().min(1).max(1_000_000).default(1).openapi({ type: 'integer', minimum: 1, default: 1 }),
    pageSize: z.coerce.number().int().min(1).max(100).default(20).openapi({ type: 'integer', minimum: 1, maximum: 100, default: 20 }),
    after: afterQuery<FleetListKey>(['text', 'int', 'instant', 'uuid']),
    isApproved: booleanQuery.optional().openapi({ type: 'string', enum: ['true', 'false'] }),
    isActive: booleanQuery.optional().openapi({ type: 'string', enum: ['true', 'false'] }),
    sync_status: z.enum(['idle', 'syncing', 'error']).optional(),
    health_status: z.enum(['HEALTHY', 'DEGRADED', 'DOWN']).optional(),
    partner_id: partnerIdField.optional(),
    stale: booleanQuery.optional().openapi({ type: 'string', enum: ['true', 'false'], description: '`freshness.stale`: an availability pull was missed (see the rule in `freshness`).' }),
    failing: booleanQuery.optional().openapi({ type: 'string', enum: ['true', 'false'], description: 'The last catalog sync failed (`sync.status` is `error`; its reason is `last_run.error_message`).' }),
    sort: z.enum(FLEET_SORTS).default('created_at').openapi({
      description: 'Newest first by `created_at` (default) or `updated_at`; or worst first: `health_status` (DOWN, DEGRADED, HEALTHY), `stale`, `failing` (then newest first).',
    }),
  })
  .superRefine(keysetNotWithPage)
  .superRefine(cursorOfSort);

export const syncLogQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ type: 'integer', minimum: 1, maximum: 100, default: 20 }),
  kind: z.enum(['catalog', 'availability_pull']).optional().openapi({ description: 'Only runs of this kind: `catalog` (catalog syncs) or `availability_pull` (pulls). Left out: both.' }),
});

export const adminSyncQuerySchema = z.strictObject({
  force: booleanQuery.optional().openapi({ type: 'string', enum: ['true', 'false'], description: 'true overrides the mass-removal guard.' }),
});

export const queueOverviewQuerySchema = z.strictObject({
  failed: z.coerce.number().int().min(0).max(100).default(10).openapi({ description: 'How many recent failed jobs to list per queue.' }),
});

/** Every route without query parameters still rejects unknown ones (a typo must not pass silently). */
export const noQuerySchema = z.strictObject({});

export const idParamsSchema = z.object({ id: z.string().openapi({ format: 'uuid', description: 'Integration id (`_id`, a UUID; never `me` or `admin`, which are fixed paths).' }) });

export const webhookHeadersSchema = z.object({
  'x-webhook-secret': z
    .string()
    .optional()
    .openapi({ description: 'The webhook secret (64 hex characters). Not needed on a signed delivery; refused alone when webhook_auth is `signature`.' }),
  'webhook-id': z.string().max(255).optional().openapi({ description: 'Standard Webhooks: the delivery id; a repeat within 24 h of a 2xx answer gets that answer again.' }),
  'webhook-timestamp': z.string().optional().openapi({ description: 'Standard Webhooks: Unix seconds, within 5 minutes of now.', example: '1767225600' }),
  'webhook-signature': z.string().optional().openapi({
    description: 'Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256>` entries over `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the 32 bytes of the secret (`webhook_signing_secret`); any one valid entry passes.',
  }),
});

/** Rotation: optional grace for the current secret. */
export const rotateBodySchema = z
  .strictObject({
    grace_seconds: z.number().int().min(0).max(604_800).optional().openapi({ description: 'How long the current secret stays valid (default 86400; 0 ends it at once).', default: 86_400 }),
  })
  .openapi('RotateWebhookSecret');

export const idempotencyHeaderSchema = z.object({
  'idempotency-key': z.string().min(1).max(255).optional().openapi({ description: 'The same key within 24 h answers the same rotation again instead of rotating twice.' }),
});

/** The query of a list with no filter: `page`, `pageSize` and `after` of a sort key of this shape. */
function pagingOnlyQuery<K extends readonly (string | null)[]>(shape: readonly KeyPart[]) {
  return z
    .strictObject({
      page: fleetQuerySchema.shape.page,
      pageSize: fleetQuerySchema.shape.pageSize,
      after: afterQuery<K>(shape),
    })
    .superRefine(keysetNotWithPage);
}

export const eventsQuerySchema = pagingOnlyQuery<IntegrationEventListKey>(['instant', 'bigint']);

export const alertsQuerySchema = pagingOnlyQuery<AlertListKey>(['instant', 'uuid']);

export const preferHeaderSchema = z.object({
  prefer: z.string().optional().openapi({ description: '`respond-async` answers 202 at once instead of waiting for the result.', example: 'respond-async' }),
});

/** `POST /{id}/availability/refresh`: optionally one product, one option, a range of local dates. */
export const availabilityRefreshSchema = z
  .strictObject({
    productId: z.string().min(1).max(255).optional(),
    optionId: z.string().min(1).max(255).optional(),
    from: z.iso.date().optional().openapi({ description: 'First local date (default: today in the product’s time zone).' }),
    to: z.iso.date().optional().openapi({ description: 'Last local date (default: from today by the integration’s days_ahead).' }),
  })
  .refine((b) => b.optionId === undefined || b.productId !== undefined, { message: 'optionId needs productId' })
  .refine((b) => b.from === undefined || b.to === undefined || b.from <= b.to, { message: 'from must not be after to' })
  .openapi('AvailabilityRefresh');

/**
 * The sync trigger's optional body. Other fields are ignored: a signed delivery may carry the
 * sender's own event in its body, as it always could.
 */
export const syncTriggerSchema = z
  .looseObject({
    productIds: z
      .array(z.string().min(1).max(255))
      .min(1)
      .max(TARGETED_PRODUCTS_MAX)
      .optional()
      .openapi({ description: `A targeted refresh: fetch only these products (\`GET /products/{id}\` each), 1 to ${TARGETED_PRODUCTS_MAX} ids. Left out: a full catalog sync.` }),
  })
  .openapi('SyncTrigger');

/** `availability_pull` as the store takes it (snake_case → camelCase, left-out fields left out). */
export function pullPatchOf(body: z.output<typeof availabilityPullSchema> | undefined): { availabilityPull?: { enabled?: boolean; daysAhead?: number; intervalMinutes?: number; tiers?: PullTier[] } } {
  if (body === undefined) return {};
  const availabilityPull = {
    ...(body.enabled === undefined ? {} : { enabled: body.enabled }),
    ...(body.days_ahead === undefined ? {} : { daysAhead: body.days_ahead }),
    ...(body.interval_minutes === undefined ? {} : { intervalMinutes: body.interval_minutes }),
    ...(body.tiers === undefined ? {} : { tiers: tiersOf(body.tiers) }),
  };
  return { availabilityPull };
}

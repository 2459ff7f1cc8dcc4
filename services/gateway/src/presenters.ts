import type { z } from 'zod';
import { pullTiersOf, type AlertDelivery, type Integration, type IntegrationEvent, type SyncRun } from '@octo-sync/db';
import type { SyncProgress } from '@octo-sync/jobs';
import { runWarningSchema, type alertDeliverySchema, type healthSchema, type integrationEventSchema, type integrationSchema, type runSchema, type syncStateSchema } from './response-schemas';
import { signingSecretOf } from '@octo-sync/platform';
import { ok, type Reply } from './route';
import { presentTiers } from './pull-tiers.schema';
import { presentCurrencyChecks } from './currencies.schema';

/*
 * Rows → the JSON the partner API answers with (integrations, their sync state, health and runs).
 * The only place that decides what leaves the gateway about an integration: no credential column
 * is ever read here (only whether a sealed webhook secret exists).
 */

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

export function presentSync(i: Integration): z.output<typeof syncStateSchema> {
  return {
    status: i.syncStatus,
    last_sync_at: iso(i.lastSyncAt),
    last_sync_hash: i.lastSyncHash,
    last_checked_at: iso(i.lastCheckedAt),
    error_message: i.syncErrorMessage,
  };
}

export function presentHealth(i: Integration): z.output<typeof healthSchema> {
  return {
    status: i.healthStatus,
    last_probe_at: iso(i.lastProbeAt),
    last_success_at: iso(i.lastSuccessAt),
    consecutive_failures: i.consecutiveFailures,
    degraded_since: iso(i.degradedSince),
    down_since: iso(i.downSince),
  };
}

export function presentIntegration(i: Integration): z.output<typeof integrationSchema> {
  return {
    _id: i.id,
    partner_id: i.partnerId,
    base_url: i.baseUrl,
    auth_type: i.authType,
    handles_ticket_delivery: i.handlesTicketDelivery,
    isActive: i.isActive,
    isApproved: i.isApproved,
    webhook_auth: i.webhookAuth,
    signing_available: i.webhookSecretSealed !== null,
    availability_pull: { enabled: i.availabilityPullEnabled, days_ahead: i.availabilityPullDaysAhead, interval_minutes: i.availabilityPullIntervalMinutes, tiers: presentTiers(pullTiersOf(i)) },
    supplier_budget: { requests_per_second: i.supplierRequestsPerSecond, concurrency: i.supplierConcurrency, throttle_statuses: i.supplierThrottleStatuses },
    locales: i.locales,
    catalog_locale: i.catalogLocale,
    alerts_url: i.alertsUrl,
    drift_policy: i.driftPolicy,
    currencies: i.currencies,
    currency_checks: presentCurrencyChecks(i.currencyChecks),
    sync: presentSync(i),
    health: presentHealth(i),
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
  };
}

type Counts = NonNullable<z.output<typeof runSchema>['counts']>;

const n = (x: unknown) => (typeof x === 'number' && Number.isInteger(x) ? x : 0);

/** One tier's figure as a pull run stored it (`tier`, `oldest_confirmed_at`, `age_s`); none when malformed. */
function presentTierAge(value: unknown): Array<{ tier: number; oldest_confirmed_at: string; age_s: number }> {
  const t = (value ?? {}) as Record<string, unknown>;
  if (typeof t.oldest_confirmed_at !== 'string' || typeof t.tier !== 'number') return [];
  return [{ tier: n(t.tier), oldest_confirmed_at: t.oldest_confirmed_at, age_s: n(t.age_s) }];
}

function presentCounts(value: unknown, kind: SyncRun['kind']): Counts | null {
  if (value === null || typeof value !== 'object') return null;
  const record = value as Record<string, unknown>;
  if (kind === 'availability_pull') {
    const slots = (record.slots ?? {}) as Record<string, unknown>;
    const options = (record.options ?? {}) as Record<string, unknown>;
    const freshness = Array.isArray(record.freshness) ? record.freshness.flatMap((t: unknown) => presentTierAge(t)) : undefined;
    return {
      slots: { created: n(slots.created), updated: n(slots.updated), unchanged: n(slots.unchanged), closed: n(slots.closed) },
      options: { pulled: n(options.pulled), failed: n(options.failed) },
      ...(freshness === undefined ? {} : { freshness }),
    };
  }
  const entity = (v: unknown) => {
    const e = (v ?? {}) as Record<string, unknown>;
    return { created: n(e.created), updated: n(e.updated), unchanged: n(e.unchanged), removed: n(e.removed) };
  };
  const { quarantined, remapped } = (record.products ?? {}) as Record<string, unknown>;
  return {
    products: { ...entity(record.products), quarantined: n(quarantined), remapped: n(remapped) },
    options: entity(record.options),
    units: entity(record.units),
  };
}

type Warning = z.output<typeof runWarningSchema>;

/** The stored `{items, omitted}` (null before any warning, or for runs older than warnings). */
function presentWarnings(value: unknown): { warnings: Warning[]; warnings_omitted: number } {
  const record = (value ?? {}) as Record<string, unknown>;
  const items = Array.isArray(record.items) ? record.items : [];
  const warnings = items.flatMap((item) => {
    const parsed = runWarningSchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
  const omitted = typeof record.omitted === 'number' && Number.isInteger(record.omitted) ? record.omitted : 0;
  return { warnings, warnings_omitted: omitted };
}

/** A run; `progress` is what its job last reported, shown while it is running. */
export function presentRun(r: SyncRun, progress: SyncProgress | null = null): z.output<typeof runSchema> {
  return {
    run_id: r.id,
    trigger: r.trigger,
    kind: r.kind,
    status: r.status,
    attempts: r.attempts,
    queued_at: r.queuedAt.toISOString(),
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    duration_ms: r.durationMs,
    payload_bytes: r.payloadBytes,
    hash: r.hash,
    counts: presentCounts(r.counts, r.kind),
    ...presentWarnings(r.warnings),
    error_code: r.errorCode,
    error_message: r.errorMessage,
    throttled_ms: r.throttledMs,
    request_ids: r.requestIds,
    product_ids: r.productIds,
    progress: r.status === 'running' ? progress : null,
  };
}

/** A webhook secret as it is shown (once): hex for the header, `whsec_` for signing libraries. */
export function presentWebhookSecret(secret: string): { webhook_secret: string; webhook_signing_secret: string } {
  return { webhook_secret: secret, webhook_signing_secret: signingSecretOf(secret) };
}

/** The answer of a call that shows a webhook secret: `Cache-Control: no-store`, so no cache keeps it. */
export function okWithSecret(data: unknown, status = 200): Reply {
  return ok(data, status, { 'Cache-Control': 'no-store' });
}

export function presentAlert(a: AlertDelivery): z.output<typeof alertDeliverySchema> {
  return {
    id: a.id,
    type: a.kind,
    status: a.status,
    attempts: a.attempts,
    last_status_code: a.lastStatusCode,
    last_error: a.lastError,
    data: a.data !== null && typeof a.data === 'object' && !Array.isArray(a.data) ? a.data : {},
    created_at: a.createdAt.toISOString(),
    last_attempt_at: iso(a.lastAttemptAt),
    delivered_at: iso(a.deliveredAt),
  };
}

export function presentEvent(e: IntegrationEvent): z.output<typeof integrationEventSchema> {
  const details = e.details !== null && typeof e.details === 'object' && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : null;
  return { type: e.type, actor: e.actor, at: e.at.toISOString(), details };
}

export { connectClient, DEFAULT_DATABASE_URL, type ConnectionErrorListener } from './client';
export { migrate, readMigrations, migrationChecksum, MIGRATIONS_DIR, type MigrateResult } from './migrate';
export {
  IntegrationStore,
  type Integration,
  type NewIntegration,
  type WebhookAuthMode,
  type IntegrationPatch,
  type IntegrationQuery,
  type SyncStatusFilter,
  type HealthStatusFilter,
} from './integrations.store';
export {
  type SyncRunStore,
  type SyncRun,
  type RunTrigger,
  type RunKind,
  type RunCounts,
  type EntityCounts,
  type ProductCounts,
  type RunWarning,
  type RunWarnings,
  type ClaimResult,
  type RunOutcome,
  type RunFailure,
} from './sync-runs.store';
export type { ScheduledRun } from './scheduled-runs';
export { catalogPoolProblem, checkPoolBudget, type PoolBudget } from './pool-budget';
export { checkPostgres, describePostgresFailure } from './reachability';
export { TARGETED_PRODUCTS_MAX } from './run-scope';
export {
  catalogKey,
  type ProductRow,
  type OptionRow,
  type UnitRow,
  type OptionKey,
  type UnitKey,
  type CatalogChanges,
  type CatalogFingerprints,
  type Fingerprint,
  type ProductFingerprintRow,
} from './catalog-rows';
export type { CatalogStore } from './catalog.store';
export type { CatalogReadStore, StoredProduct, StoredProductSummary, StoredSlot, Page } from './catalog-read.store';
export type { CatalogCopyWriter } from './catalog-writer';
export {
  pullSettingsOf,
  type AvailabilityPullStore,
  type OptionSnapshot,
  type PullSettings,
  type PullTarget,
  type SlotCounts,
  type SnapshotSlot,
} from './availability-pull.store';
export { slotKey, optionKey, type AvailabilityStore, type SlotRow, type SlotKey } from './availability.store';
export { newerInSource } from './slot-order';
export type { ChangeFeedStore, ChangeEvent, ChangePage } from './change-feed.store';
export type { ChangeType } from './change-outbox';
export type { HealthStore, HealthStatus, HealthTransition } from './health.store';
export { hashWebhookSecret } from './webhook-secret';
export {
  WebhookSecretStore,
  type WebhookAuth,
  type WebhookCredentials,
  type WebhookIntegration,
  type WebhookProof,
  type Rotation,
  type RotateOptions,
} from './webhook-secrets.store';
export { SYSTEM_ACTOR, type IntegrationEventStore, type IntegrationEvent, type IntegrationEventType, type NewIntegrationEvent } from './integration-events.store';
export { classifySqlError, isDataException, sqlStateOf, type SqlFailure } from './sql-errors';
export { syncRefusal, type SyncRefusal, type SyncCandidate } from './sync-eligibility';
export type { AlertStore, AlertDelivery, AlertDeliveryStatus, AlertAttempt, AlertTarget } from './alerts.store';
export { createDb, type Db, type DbOptions } from './db';

export { connectClient, DEFAULT_DATABASE_URL, type ConnectionErrorListener } from './client';
export { migrate, readMigrations, migrationChecksum, MIGRATIONS_DIR, type MigrateResult } from './migrate';
export type { SyncRunRetention, PruneBudget } from './runs/sync-run-retention';
export { NO_TRANSACTION_MARKER, isNonTransactional, splitStatements } from './migration-statements';
export {
  IntegrationStore,
  type Integration,
  type NewIntegration,
  type WebhookAuthMode,
  type IntegrationPatch,
} from './integrations/integrations.store';
export { refuseBudgetRaise } from './integrations/supplier-budget-columns';
export type { FleetRow, FleetListKey } from './integrations/fleet-list';
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
} from './runs/sync-runs.store';
export type { ScheduledRun } from './runs/scheduled-runs';
export { checkPoolBudget, poolContention, type PoolBudget } from './pool-budget';
export { NestedCheckoutError } from './checkout-guard';
export { checkPostgres, describePostgresFailure, whenPostgresAnswers, type PostgresWait } from './reachability';
export { TARGETED_PRODUCTS_MAX } from './runs/run-scope';
export { dayNumber, hintTargetsOf, HINT_SPAN_MAX_DAYS, type HintTarget } from './runs/hint-runs';
export {
  catalogKey,
  type ProductRow,
  type OptionRow,
  type UnitRow,
  type OptionKey,
  type UnitKey,
  type CatalogChanges,
  type CatalogFingerprints,
  type CatalogRemovals,
  type Fingerprint,
  type ProductFingerprintRow,
} from './catalog/catalog-rows';
export type { CatalogStore } from './catalog/catalog.store';
export type { CatalogShapeStore, DriftPolicy, ShapeChange, StoredShapes } from './catalog/catalog-shape.store';
export { OPTION_LOCALISED_FIELDS, PRODUCT_LOCALISED_FIELDS, UNIT_LOCALISED_FIELDS } from './catalog/localised-fields';
export type { CatalogLocaleStore, LocaleWrite, LocalisedRow, StoredLocale, StoredLocalisation } from './catalog/catalog-locales.store';
export type { CatalogReadStore, StoredOptionSummary, StoredProduct, StoredProductSummary, StoredSlot, ProductListKey, SlotListKey } from './catalog/catalog-read.store';
export { COUNT_CAP, type ListPage, type ListRequest } from './paging';
export type { CatalogRunWriter } from './catalog/catalog-writer';
export type { RemapCandidate, RekeyOutcome } from './identity/run-rekey';
export type { Remap } from './identity/key-transfer';
export type { IdentityStore, LinkOutcome, RemapOutcome, StoredRemapCandidate } from './identity/identity.store';
export type { SliceRows } from './catalog/catalog-encode';
export type { RunTx } from './runs/run-fence';
export {
  pullSettingsOf,
  type AnswerDigests,
  type AvailabilityPullStore,
  type CurrencyChecks,
  type OptionSnapshot,
  type PullSettings,
  type PullTarget,
  type SameAnswer,
  type SlotCounts,
  type SnapshotSlot,
} from './availability/availability-pull.store';
export type { SlotPriceRow } from './availability/slot-prices';
export type { FleetTierFreshness, FreshnessStore, TierFreshness } from './availability/freshness';
export { pullTiersOf, tierDays, type DueTier, type PullSchedule, type PullTier } from './availability/pull-schedule';
export { tierScope } from './runs/pull-flight';
export { slotKey, optionKey, type AvailabilityStore, type SlotRow, type SlotKey } from './availability/availability.store';
export { newerInSource } from './availability/slot-order';
export type { SlotPartitionCoverage, SlotPartitionSettings, SlotPartitionStore, SlotPartitionWork } from './availability/slot-partitions.store';
export type { ChangeFeedStore, ChangeEvent, ChangePage } from './feed/change-feed.store';
export { appendChanges, type ChangeEventRow, type ChangeType } from './feed/change-outbox';
export type { HealthStore, HealthStatus, HealthTransition } from './integrations/health.store';
export { hashWebhookSecret } from './integrations/webhook-secret';
export {
  WebhookSecretStore,
  type WebhookAuth,
  type WebhookCredentials,
  type WebhookIntegration,
  type WebhookProof,
  type Rotation,
  type RotateOptions,
} from './integrations/webhook-secrets.store';
export { SYSTEM_ACTOR, type IntegrationEventStore, type IntegrationEventListKey, type IntegrationEvent, type IntegrationEventType, type NewIntegrationEvent } from './integrations/integration-events.store';
export { classifySqlError, isDataException, isMissingPartition, isRefusedValue, sqlStateOf, type SqlFailure } from './sql-errors';
export { syncRefusal, type SyncRefusal, type SyncCandidate } from './runs/sync-eligibility';
export type { AlertStore, AlertListKey, AlertDelivery, AlertDeliveryStatus, AlertAttempt, AlertTarget } from './integrations/alerts.store';
export { createDb, type Db, type DbOptions } from './db';

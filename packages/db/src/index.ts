export { createPrisma, createPool, connectClient, PrismaClient, DEFAULT_DATABASE_URL, type PrismaOptions, type ConnectionErrorListener } from './client';
export { migrate, ensureDatabase, readMigrations, migrationChecksum, MigrationError, MIGRATIONS_DIR, type MigrateResult } from './migrate';
export {
  IntegrationStore,
  isUuid,
  type Integration,
  type NewIntegration,
  type WebhookAuth,
  type IntegrationPatch,
  type IntegrationQuery,
  type SyncStatusFilter,
  type HealthStatusFilter,
} from './integrations.store';
export {
  SyncRunStore,
  StaleRunError,
  type SyncRun,
  type RunTrigger,
  type RunCounts,
  type EntityCounts,
  type ProductCounts,
  type RunWarning,
  type RunWarnings,
  type ClaimResult,
  type RunOutcome,
  type RunFailure,
  type Tx,
} from './sync-runs.store';
export {
  CatalogStore,
  CatalogCopyWriter,
  catalogKey,
  type ProductRow,
  type OptionRow,
  type UnitRow,
  type OptionKey,
  type UnitKey,
  type CatalogChanges,
  type CatalogFingerprints,
  type Fingerprint,
} from './catalog.store';
export { AvailabilityStore, slotKey, optionKey, type SlotRow, type SlotKey } from './availability.store';
export { HealthStore, type HealthStatus, type HealthTransition } from './health.store';
export { generateWebhookSecret, hashWebhookSecret, webhookSecretMatches } from './webhook-secret';
export { classifySqlError, isDataException, sqlStateOf, type SqlFailure } from './sql-errors';
export { syncRefusal, syncableWhere, type SyncRefusal, type SyncCandidate } from './sync-eligibility';
export { createDb, type Db, type DbOptions } from './db';
